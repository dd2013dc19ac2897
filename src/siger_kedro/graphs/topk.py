"""Deterministic per-row top-K selection, shared by the graph builders.

Multi-hot features and small co-occurrence counts make ties the norm, not the exception.
Ties are broken by a hash of the (row, column) pair: a graph is identical run to run and
machine to machine, and a large group of tied items spreads its edges over the group
instead of sending them all to its lowest ids (which, with "lower id wins", made ten
items of MovieLens-100k's genre graph the neighbours of 376 others). `ties="lowest_id"`
keeps the former rule, for comparison. A `pinned` column per row (a kNN item itself) is
kept before any other. Both flavours are vectorised over the whole chunk: the dense one
finds each row's k-th largest value with np.partition and hands the values >= it to the
sparse one, which orders (row, pinned first, value desc, tie key) with stable sorts.

The result is a CSR matrix of the input's shape and dtype with sorted indices.
A kept value of exactly 0 is dropped (CSR stores no explicit zeros), so a row
may come back with fewer than K entries.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


TIES = ("hash", "lowest_id")


def topk_rows(values, k: int, row_ids=None, col_offset: int = 0, pinned=None,
              ties: str = "hash") -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each row; ties by a hash of (row, column).

    ``values`` is either a dense 2-D array (every column is a candidate) or a
    sparse matrix (only stored entries are candidates, so a row with fewer than
    ``k`` of them keeps all it has). Values must be NaN-free. ``row_ids`` (each
    row's id, default 0, 1, ...) and ``col_offset`` say where this block lies in
    the whole matrix, so that a chunked build breaks ties as the whole one would.
    ``pinned``: per row a (block-local) column kept first whatever its (non-zero) value, or -1.
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    n_rows = values.shape[0]
    row_ids = np.arange(n_rows, dtype=np.int64) if row_ids is None else np.asarray(row_ids, dtype=np.int64)
    if row_ids.shape != (n_rows,):
        raise ValueError(f"row_ids must give one id per row ({n_rows}), got shape {row_ids.shape}")
    where = (row_ids, int(col_offset), None if pinned is None else np.asarray(pinned, dtype=np.int64), ties)
    if sp.issparse(values):
        return _topk_sparse(values, int(k), *where)
    return _topk_dense(np.asarray(values), int(k), *where)


def _tie_key(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """A well-mixed 64-bit hash of each (row, column) pair (splitmix64's finaliser)."""
    with np.errstate(over="ignore"):
        x = (rows.astype(np.uint64) << np.uint64(32)) ^ cols.astype(np.uint64)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def stack_rows(blocks: list[sp.csr_matrix], n_cols: int, dtype=np.float32) -> sp.csr_matrix:
    """Stack row chunks into one canonical CSR matrix (also for zero chunks)."""
    if not blocks:
        return sp.csr_matrix((0, n_cols), dtype=dtype)
    out = sp.vstack(blocks, format="csr", dtype=dtype)
    out.sort_indices()
    return out


def _topk_dense(values: np.ndarray, k: int, row_ids, col_offset: int, pinned, ties: str) -> sp.csr_matrix:
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
    candidate = values >= kth
    if pinned is not None:
        has = pinned >= 0
        candidate[np.nonzero(has)[0], pinned[has]] = True
    rows, cols = np.nonzero(candidate)  # row-major: columns sorted per row
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    candidates = sp.csr_matrix((values[rows, cols], cols, indptr), shape=(n_rows, n_cols))
    return _topk_sparse(candidates, k, row_ids, col_offset, pinned, ties)


def _topk_sparse(values, k: int, row_ids, col_offset: int, pinned, ties: str) -> sp.csr_matrix:
    m = sp.csr_matrix(values, copy=True)
    m.sum_duplicates()  # one candidate per (row, column), columns sorted
    n_rows = m.shape[0]
    counts = np.diff(m.indptr)
    # Small row dtype lets numpy radix-sort the row keys.
    rows = np.repeat(np.arange(n_rows, dtype=np.min_scalar_type(n_rows)), counts)
    # Stable sorts from the last key to the first give the order (row, pinned first, value
    # descending, tie key); entries start in (row, column) order, which "lowest_id" keeps.
    neg = -m.data.astype(np.promote_types(m.data.dtype, np.int8))  # uint/bool-safe
    if ties == "hash":
        order = np.argsort(_tie_key(row_ids[rows], m.indices.astype(np.int64) + col_offset), kind="stable")
        order = order[np.argsort(neg[order], kind="stable")]
    else:
        order = np.argsort(neg, kind="stable")
    if pinned is not None:
        later = (m.indices != pinned[rows]) | (m.data == 0)  # a zero is no edge, pinned or not
        order = order[np.argsort(later[order], kind="stable")]
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
