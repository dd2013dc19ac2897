"""Deterministic per-row top-K selection, shared by the graph builders.

Ties are broken by the LOWER column id, so a graph is identical run to run and
machine to machine; multi-hot features and small co-occurrence counts make ties
the norm, not the exception. Both flavours are vectorised over the whole chunk:
the dense one finds each row's k-th largest value with np.partition and hands
the values >= it to the sparse one, which orders (row, value desc, column)
with two stable sorts.

The result is a CSR matrix of the input's shape and dtype with sorted indices.
A kept value of exactly 0 is dropped (CSR stores no explicit zeros), so a row
may come back with fewer than K entries.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def topk_rows(values, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each row; ties go to the lower column.

    ``values`` is either a dense 2-D array (every column is a candidate) or a
    sparse matrix (only stored entries are candidates, so a row with fewer than
    ``k`` of them keeps all it has). Values must be NaN-free.
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if sp.issparse(values):
        return _topk_sparse(values, int(k))
    return _topk_dense(np.asarray(values), int(k))


def stack_rows(blocks: list[sp.csr_matrix], n_cols: int, dtype=np.float32) -> sp.csr_matrix:
    """Stack row chunks into one canonical CSR matrix (also for zero chunks)."""
    if not blocks:
        return sp.csr_matrix((0, n_cols), dtype=dtype)
    out = sp.vstack(blocks, format="csr", dtype=dtype)
    out.sort_indices()
    return out


def _topk_dense(values: np.ndarray, k: int) -> sp.csr_matrix:
    if values.ndim != 2:
        raise ValueError(f"values must be 2-D, got {values.ndim}-D")
    n_rows, n_cols = values.shape
    k = min(k, n_cols)
    if n_rows == 0 or k == 0:
        return sp.csr_matrix((n_rows, n_cols), dtype=values.dtype)

    # Only values >= the k-th largest of their row can be kept. These few
    # candidates (more only when ties straddle the k-th place) go through the
    # sparse selection, which orders the ties by column.
    kth = np.partition(values, n_cols - k, axis=1)[:, n_cols - k, None]
    rows, cols = np.nonzero(values >= kth)  # row-major: columns sorted per row
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    candidates = sp.csr_matrix((values[rows, cols], cols, indptr), shape=(n_rows, n_cols))
    return _topk_sparse(candidates, k)


def _topk_sparse(values, k: int) -> sp.csr_matrix:
    m = sp.csr_matrix(values, copy=True)
    m.sum_duplicates()  # one candidate per (row, column), columns sorted
    n_rows = m.shape[0]
    counts = np.diff(m.indptr)
    # Small row dtype lets numpy radix-sort the row keys.
    rows = np.repeat(np.arange(n_rows, dtype=np.min_scalar_type(n_rows)), counts)
    # Entries are in (row, column) order, so two stable sorts give the order
    # (row, value descending, column) -- several times faster than lexsort.
    neg = -m.data.astype(np.promote_types(m.data.dtype, np.int8))  # uint/bool-safe
    order = np.argsort(neg, kind="stable")
    order = order[np.argsort(rows[order], kind="stable")]
    # Each row keeps its block of positions: rank within row = position - indptr.
    rank = np.arange(order.size) - m.indptr[rows]
    keep = order[rank < k]

    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.minimum(counts, k), out=indptr[1:])
    out = sp.csr_matrix((m.data[keep], m.indices[keep], indptr), shape=m.shape)
    out.sort_indices()
    out.eliminate_zeros()
    return out
