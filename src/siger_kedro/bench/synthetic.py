"""Generated interaction logs of any size, shaped roughly like real ones."""
from __future__ import annotations

import numpy as np


def interactions(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, int, int]:
    """`n` distinct (user, item) pairs: ~30 per user, twice as many users as items, item
    popularity Zipf-like (exponent 0.8) so that co-occurrence rows of popular items are dense,
    as in real logs. Returns (users, items, n_users, n_items)."""
    n_users, n_items = max(n // 30, 64), max(n // 60, 64)
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    popularity /= popularity.sum()
    keys = np.empty(0, dtype=np.int64)
    while keys.size < n:  # duplicates are dropped; draw again for the shortfall
        m = 2 * (n - keys.size)
        new = rng.integers(0, n_users, m) * n_items + rng.choice(n_items, m, p=popularity)
        keys = np.unique(np.concatenate([keys, new]))
    keys = rng.permutation(keys)[:n]
    return keys // n_items, keys % n_items, n_users, n_items
