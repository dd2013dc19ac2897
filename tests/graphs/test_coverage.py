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


def test_coverage_counts_histogram_by_hand():
    from siger_kedro.graphs.coverage import coverage_counts

    cooc = sp.csr_matrix(np.array([[0.0, 0.2, 0.3], [0.9, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    knn = sp.csr_matrix(np.array([[1.0, 0.0, 0.4], [0.7, 1.0, 0.0], [0.0, 0.1, 1.0]]))
    full = sp.csr_matrix(np.ones((3, 3)))
    counts = coverage_counts(cooc, {"knn": knn, "all": full})
    # items 0 and 1 have co-occurring items (2 and 1 of them); item 2 has none and is left out
    assert counts["knn"] == {"items_capturing": {"0": 0, "1": 2, "2": 0}, "mean_captured": 1.0,
                             "share_capturing_none": 0.0}
    assert counts["all"]["items_capturing"] == {"0": 0, "1": 1, "2": 1}
