"""Item co-occurrence graph (SIGER Eq 3-4).

C_ij = number of distinct users who interacted with both i and j (i != j);
the edge weight is CR_ij = sigmoid(log C_ij) = C_ij / (1 + C_ij). Only the
top-k neighbours per item are kept, unnormalised (callers apply
normalize_square).

Counts are computed chunk by chunk as R^T[chunk] @ R, so memory is bounded by
one chunk of co-occurrence rows; the full items x items matrix never exists.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .normalize import interaction_matrix
from .topk import stack_rows, topk_rows


def cooccurrence_graph(
    users, items, n_users: int, n_items: int, k: int = 5, chunk_size: int = 1024, ties: str = "hash"
) -> sp.csr_matrix:
    """Top-k co-occurrence graph (n_items x n_items, float32 CR weights); equal counts are
    broken by `topk.topk_rows`' rule."""
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    chunk_size = int(chunk_size)
    # Binary R makes each product term one distinct user; int32 keeps counts
    # exact, so ties are decided on counts rather than on rounded weights.
    r = interaction_matrix(users, items, n_users, n_items).astype(np.int32)
    rt = r.T.tocsr()

    blocks = []
    for start in range(0, n_items, chunk_size):
        counts = rt[start : start + chunk_size] @ r
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        counts.data[counts.indices == rows + start] = 0  # an item is not its own neighbour
        counts.eliminate_zeros()
        top = topk_rows(counts, k, row_ids=np.arange(start, start + counts.shape[0]), ties=ties)  # C/(1+C): same top-k
        c = top.data.astype(np.float64)
        weights = (c / (1.0 + c)).astype(np.float32)
        blocks.append(sp.csr_matrix((weights, top.indices, top.indptr), shape=top.shape))
    return stack_rows(blocks, n_items)
