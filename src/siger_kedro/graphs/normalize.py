"""Graph construction helpers: interaction matrix, normalisation, EISG mix.

Every function returns a canonical ``scipy.sparse.csr_matrix``: float32, indices
sorted within rows, no explicit zeros. Degrees are summed in float64 and a
zero degree scales to 0, so no inf/NaN can appear.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def interaction_matrix(users, items, n_users: int, n_items: int) -> sp.csr_matrix:
    """Binary users x items matrix R; repeated (user, item) pairs collapse to 1."""
    users = _ids(users, n_users, "users")
    items = _ids(items, n_items, "items")
    if users.shape != items.shape:
        raise ValueError(f"users and items differ in length: {users.size} vs {items.size}")
    r = sp.csr_matrix(
        (np.ones(users.size, dtype=np.float32), (users, items)), shape=(n_users, n_items)
    )
    r.sum_duplicates()
    r.data[:] = 1.0
    return r


def split_matrix(interactions, split: int, n_users: int, n_items: int) -> sp.csr_matrix:
    """Binary users x items matrix of the rows of `interactions` (columns user, item, split)
    in one split (`data.split`: TRAIN, VALID, TEST)."""
    rows = interactions[interactions["split"] == split]
    return interaction_matrix(rows["user"].to_numpy(), rows["item"].to_numpy(), n_users, n_items)


def normalize_square(m) -> sp.csr_matrix:
    """D^-1/2 M D^-1/2 with D the ROW sums of M (SIGER Eq 5).

    M need not be symmetric: entry (i, j) is divided by sqrt(d_i * d_j), where
    d_j is item j's own row sum. An entry whose row or column item has zero
    degree becomes 0 (and is dropped).
    """
    m = _canonical(m)
    if m.shape[0] != m.shape[1]:
        raise ValueError(f"normalize_square needs a square matrix, got shape {m.shape}")
    inv = _inv_sqrt(m.sum(axis=1))
    return _scale(m, inv, inv)


def normalize_rows(m) -> sp.csr_matrix:
    """D^-1 M with D the row sums of M: each non-empty row sums to 1 (an empty row stays empty)."""
    m = _canonical(m)
    degrees = np.asarray(m.sum(axis=1), dtype=np.float64).ravel()
    inv = np.divide(1.0, degrees, out=np.zeros_like(degrees), where=degrees > 0)
    return _scale(m, inv, np.ones(m.shape[1]))


def normalize_bipartite(r) -> sp.csr_matrix:
    """D_u^-1/2 R D_i^-1/2 with user degrees = row sums, item degrees = column sums."""
    r = _canonical(r)
    return _scale(r, _inv_sqrt(r.sum(axis=1)), _inv_sqrt(r.sum(axis=0)))


def ui_adjacency(r) -> sp.csr_matrix:
    """LightGCN's A_hat: [[0, R], [R^T, 0]] symmetrically normalised, (U+I)^2.

    The degrees of that block matrix are exactly R's row and column sums, so the
    normalised blocks are normalize_bipartite(R) and its transpose.
    """
    nr = normalize_bipartite(r)
    n_users, n_items = nr.shape
    a = sp.bmat(
        [
            [sp.csr_matrix((n_users, n_users), dtype=np.float32), nr],
            [nr.T, sp.csr_matrix((n_items, n_items), dtype=np.float32)],
        ],
        format="csr",
    )
    return _canonical(a)


def mix_graphs(c, h, beta: float) -> sp.csr_matrix:
    """EISG S = beta * C + (1 - beta) * H (SIGER Eq 7)."""
    if c.shape != h.shape:
        raise ValueError(f"cannot mix graphs of shapes {c.shape} and {h.shape}")
    if not 0.0 <= beta <= 1.0:  # also rejects NaN
        raise ValueError(f"beta must be in [0, 1], got {beta!r}")
    return _canonical(beta * _canonical(c) + (1.0 - beta) * _canonical(h))


def _canonical(m) -> sp.csr_matrix:
    out = sp.csr_matrix(m, dtype=np.float32, copy=True)
    out.sum_duplicates()  # also sorts indices
    out.eliminate_zeros()
    return out


def _inv_sqrt(degrees) -> np.ndarray:
    d = np.asarray(degrees, dtype=np.float64).ravel()
    inv = np.zeros_like(d)
    pos = d > 0
    inv[pos] = 1.0 / np.sqrt(d[pos])
    return inv


def _scale(m: sp.csr_matrix, row_scale: np.ndarray, col_scale: np.ndarray) -> sp.csr_matrix:
    """diag(row_scale) @ m @ diag(col_scale), done on the stored entries."""
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    data = m.data.astype(np.float64) * row_scale[rows] * col_scale[m.indices]
    out = sp.csr_matrix((data.astype(np.float32), m.indices, m.indptr), shape=m.shape)
    out.eliminate_zeros()
    return out


def _ids(ids, n: int, name: str) -> np.ndarray:
    a = np.asarray(ids)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of ids, got {a.ndim}-D")
    if a.size and a.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integer ids, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if a.size and (a.min() < 0 or a.max() >= n):
        raise ValueError(f"{name} ids must lie in [0, {n}), got range [{a.min()}, {a.max()}]")
    return a
