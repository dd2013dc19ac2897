"""MMRec's per-user random split (docs/protocol.md), vectorised."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

TRAIN, VALID, TEST = 0, 1, 2


def split_counts(n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, valid, test) counts for users with `n` interactions.

    n < 10: n-2 / 1 / 1; otherwise h = floor(0.2 n), valid h // 2, test h - h // 2, rest train.
    Choice: a user with a single interaction keeps it in train (1 / 0 / 0) rather than getting
    a negative train count; with n == 2 the rule gives 0 / 1 / 1 and such users later lose
    their held-out rows for having no training row.
    """
    n = np.asarray(n, dtype=np.int64)
    h = n // 5  # floor(0.2 n) without float rounding
    small = n < 10
    valid = np.where(small, np.minimum(n - 1, 1), h // 2)
    test = np.where(small, np.minimum(n - 1, 1), h - h // 2)
    return n - valid - test, valid, test


def mmrec_split(users: np.ndarray, seed: int) -> np.ndarray:
    """Assign each interaction row 0 (train), 1 (valid) or 2 (test).

    Each user's rows are put in a random order (one seeded permutation of all rows, then a
    stable sort by user keeps that order within a user); the first `train` ranks go to train,
    the next `valid` to valid, the rest to test.
    """
    users = np.asarray(users)
    n_rows = len(users)
    _, inverse, counts = np.unique(users, return_inverse=True, return_counts=True)
    perm = np.random.default_rng(seed).permutation(n_rows)
    order = perm[np.argsort(inverse[perm], kind="stable")]
    # Rank of each row within its user: position in `order` minus the user's first position.
    starts = np.cumsum(counts) - counts
    rank = np.empty(n_rows, dtype=np.int64)
    rank[order] = np.arange(n_rows) - np.repeat(starts, counts)
    n_train, n_valid, _ = split_counts(counts)
    row_train, row_valid = n_train[inverse], n_valid[inverse]
    split = np.full(n_rows, TEST, dtype=np.int8)
    split[rank < row_train + row_valid] = VALID
    split[rank < row_train] = TRAIN
    return split


def cold_start_split(items: np.ndarray, split: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The paper's cold-start setting from a regular split: a seeded `fraction` of the items
    lose all their training interactions, and every interaction of a cold item goes to valid
    or test (a seeded half each, per item: an item with one interaction goes to test). Other
    rows keep their split. Returns (new split per row, sorted cold item ids)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"the cold item fraction must lie strictly between 0 and 1, got {fraction}")
    items, split = np.asarray(items), np.asarray(split).copy()
    present = np.unique(items)
    rng = np.random.default_rng(seed)
    cold = np.sort(rng.choice(present, size=max(1, int(round(fraction * len(present)))), replace=False))
    rows = np.flatnonzero(np.isin(items, cold))
    rows = rows[rng.permutation(len(rows))]
    rows = rows[np.argsort(items[rows], kind="stable")]  # each cold item's rows in a random order
    _, starts, counts = np.unique(items[rows], return_index=True, return_counts=True)
    rank = np.arange(len(rows)) - np.repeat(starts, counts)
    split[rows] = np.where(rank < np.repeat(counts // 2, counts), VALID, TEST)
    return split, cold


def restricted_to_items(held_out: sp.csr_matrix, items: np.ndarray) -> sp.csr_matrix:
    """A users x items held-out matrix with only the columns of `items` kept (same shape): the
    ground truth of metrics on cold items alone, which are still ranked among all items."""
    keep = np.zeros(held_out.shape[1], dtype=held_out.dtype)
    keep[np.asarray(items)] = 1
    out = sp.csr_matrix(held_out.multiply(keep[None, :]))
    out.eliminate_zeros()
    return out
