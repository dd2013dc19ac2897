"""Iterative k-core filtering of an interaction list (MMRec's 5-core recipe, docs/data-formats.md)."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)


def kcore(users: np.ndarray, items: np.ndarray, k: int = 5) -> np.ndarray:
    """Boolean keep-mask of the rows in the k-core of the user-item graph.

    Rows whose user or item has fewer than `k` remaining interactions are dropped together,
    repeatedly, until every remaining user and item has >= k. The k-core is the largest
    sub-graph with that property and is unique, so dropping users and items in the same pass
    (rather than alternating) gives the same rows in fewer passes. Each pass is two bincounts.
    Rows are counted as given: de-duplicate (user, item) pairs first.
    """
    users, items = np.asarray(users), np.asarray(items)
    if users.shape != items.shape or users.ndim != 1:
        raise ValueError(f"users and items must be 1-D arrays of one length; got {users.shape} and {items.shape}")
    keep = np.ones(len(users), dtype=bool)
    if len(users) == 0 or k <= 1:
        return keep
    u = np.unique(users, return_inverse=True)[1].ravel()
    i = np.unique(items, return_inverse=True)[1].ravel()
    n_u, n_i = int(u.max()) + 1, int(i.max()) + 1
    while True:
        user_deg = np.bincount(u[keep], minlength=n_u)
        item_deg = np.bincount(i[keep], minlength=n_i)
        drop = keep & ((user_deg[u] < k) | (item_deg[i] < k))
        if not drop.any():
            return keep
        keep &= ~drop


def dedup_kcore(interactions: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """MMRec's cleaning of raw interactions: drop repeated (user, item) pairs (first kept),
    then keep the k-core. Row order is preserved so that re-indexing by first appearance
    downstream follows the file."""
    df = interactions.drop_duplicates(["user", "item"], keep="first")
    keep = kcore(df["user"].to_numpy(), df["item"].to_numpy(), k)
    out = df[keep].reset_index(drop=True)
    logger.info("dropped %d duplicate and %d non-%d-core interactions; kept %d",
                len(interactions) - len(df), len(df) - len(out), k, len(out))
    return out
