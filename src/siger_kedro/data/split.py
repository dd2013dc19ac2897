"""MMRec's per-user random split (docs/protocol.md), vectorised."""
from __future__ import annotations

import numpy as np

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
