import numpy as np
import pytest
import scipy.sparse as sp

from siger_kedro.graphs.coverage import shared_neighbours


def test_counts_shared_neighbours_by_hand_ignoring_self_and_weights():
    # item 0 co-occurs with 1, 2 (and itself); item 1 with 0; item 2 with nothing
    cooc = sp.csr_matrix(np.array([[0.5, 0.2, 0.3], [0.9, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    # modality neighbours: 0 -> {0, 2}; 1 -> {1, 0}; 2 -> {2, 1}
    knn = sp.csr_matrix(np.array([[1.0, 0.0, 0.4], [0.7, 1.0, 0.0], [0.0, 0.1, 1.0]]))
    assert shared_neighbours(cooc, knn).tolist() == [1, 1, 0]
    with pytest.raises(ValueError, match="different shapes"):
        shared_neighbours(cooc, knn[:2])
