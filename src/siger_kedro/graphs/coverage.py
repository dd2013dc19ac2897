"""How much of an item's collaborative neighbourhood a modality graph captures (the paper's
Figure 1): per item, how many of its co-occurring items are also its neighbours in the graph."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .knn import binary


def shared_neighbours(reference: sp.csr_matrix, graph: sp.csr_matrix) -> np.ndarray:
    """Per item (row), how many of its neighbours in `reference` other than itself are also its
    neighbours in `graph` (edge weights ignored)."""
    if reference.shape != graph.shape:
        raise ValueError(f"graphs of different shapes: {reference.shape} and {graph.shape}")
    ref = binary(sp.csr_matrix(reference))
    ref.setdiag(0)
    ref.eliminate_zeros()
    both = sp.csr_matrix(ref.multiply(binary(sp.csr_matrix(graph))))
    both.eliminate_zeros()
    return np.diff(both.indptr)
