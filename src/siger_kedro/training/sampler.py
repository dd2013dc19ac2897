"""Exact, vectorised uniform negative sampling.

For a user with sorted positives p_0 < p_1 < ... the r-th item that is NOT a positive is
r + #{j : p_j - j <= r}. Drawing r uniformly in [0, n_items - degree) and mapping it this way
gives a uniform non-positive item in one pass: no rejection loop, no host synchronisation.
"""
from __future__ import annotations

import torch


class NegativeSampler:
    def __init__(self, users: torch.Tensor, items: torch.Tensor, n_users: int, n_items: int):
        """`users`, `items`: the training pairs (any order, duplicates allowed), on the device
        the samples are wanted on."""
        keys = torch.unique(users.long() * n_items + items.long())  # sorted, deduplicated
        u, i = keys // n_items, keys % n_items
        degree = torch.bincount(u, minlength=n_users)
        if bool((degree >= n_items).any()):
            raise ValueError("a user has interacted with every item: no negative item exists")
        start = torch.cumsum(degree, 0) - degree
        rank = torch.arange(keys.numel(), device=keys.device) - start[u]
        self._shifted = u * n_items + (i - rank)  # per user p_j - j, sorted overall
        self._start, self._free, self._n_items = start, n_items - degree, n_items

    def sample(self, users: torch.Tensor) -> torch.Tensor:
        """One uniform item per entry of `users` that the user has not interacted with."""
        r = (torch.rand(users.shape, device=users.device) * self._free[users]).long()
        r = torch.minimum(r, self._free[users] - 1)  # guards against rand() rounding up to 1
        below = torch.searchsorted(self._shifted, users * self._n_items + r, right=True)
        return r + below - self._start[users]
