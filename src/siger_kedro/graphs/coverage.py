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


def coverage_counts(cooccurrence: sp.csr_matrix, graphs: dict[str, sp.csr_matrix]) -> dict[str, dict]:
    """For each graph: over the items that have co-occurring items, how many items capture 0,
    1, ... of them as neighbours (`items_capturing`), the mean captured and the share of items
    capturing none."""
    has = np.diff(sp.csr_matrix(cooccurrence).indptr) > 0
    # the most co-occurring items an item has (K_c, or fewer where it has fewer)
    most = int(np.diff(sp.csr_matrix(cooccurrence).indptr).max(initial=0))
    out = {}
    for name, graph in graphs.items():
        captured = shared_neighbours(cooccurrence, graph)[has]
        out[name] = {"items_capturing": {str(n): int(c) for n, c in enumerate(np.bincount(captured, minlength=most + 1))},
                     "mean_captured": float(captured.mean()) if len(captured) else float("nan"),
                     "share_capturing_none": float((captured == 0).mean()) if len(captured) else float("nan")}
    return out
