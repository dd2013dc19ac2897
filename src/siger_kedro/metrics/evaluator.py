"""Full-ranking evaluation and top-K recommendation (MMRec protocol).

Scores are dot products over *all* items; items in the ``exclude`` matrices
(train, optionally valid) are set to -inf before ranking. Users are streamed
in batches so memory stays at batch_size x n_items.

CSR matrices are converted to device tensors once and cached (``RankingTask``),
because validation runs every epoch on the same matrices.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import torch

from .ranking import DEFAULT_KS, metric_keys, ranking_metrics_per_user


def _clean_csr(matrix) -> sp.csr_matrix:
    """CSR copy whose stored entries are exactly the positives."""
    m = sp.csr_matrix(matrix, copy=True)
    m.sum_duplicates()  # duplicates would inflate |T_u|
    m.eliminate_zeros()  # an explicit 0 is not a positive
    return m


class _RowBlock:
    """Rows of a CSR matrix, re-indexed 0..n-1, with entries on ``device``.

    The indptr stays on the host so a contiguous batch of rows is found by
    slicing without any device->host synchronisation.
    """

    def __init__(self, csr: sp.csr_matrix, rows: np.ndarray, device: torch.device):
        sub = csr[rows]
        self.indptr = sub.indptr.astype(np.int64)
        counts = np.diff(self.indptr)
        self.n_per_row = torch.as_tensor(counts, device=device)
        self.row = torch.as_tensor(np.repeat(np.arange(len(rows)), counts), device=device)
        self.col = torch.as_tensor(sub.indices.astype(np.int64), device=device)

    def batch(self, start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(row within batch, column) pairs for rows start..stop-1."""
        lo, hi = self.indptr[start], self.indptr[stop]
        return self.row[lo:hi] - start, self.col[lo:hi]


def _check_shape(matrix: sp.spmatrix, n_rows: int, n_items: int, what: str) -> None:
    if matrix.shape != (n_rows, n_items):
        raise ValueError(f"{what} has shape {matrix.shape}, expected {(n_rows, n_items)}")


class RankingTask:
    """Held-out positives and masks for the users that have >= 1 held-out item.

    Built once (e.g. for validation) and reused every epoch.
    """

    def __init__(self, truth, exclude: Sequence = (), device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        truth = _clean_csr(truth)
        self.n_users, self.n_items = truth.shape
        self.users = np.flatnonzero(np.diff(truth.indptr) > 0)  # users that count
        self.truth = _RowBlock(truth, self.users, self.device)
        self.exclude = []
        for i, m in enumerate(exclude):
            m = _clean_csr(m)
            _check_shape(m, self.n_users, self.n_items, f"exclude[{i}]")
            self.exclude.append(_RowBlock(m, self.users, self.device))


class Evaluator:
    """Full-ranking evaluator: Recall/NDCG/Precision/MAP @ each K.

    ``evaluate`` caches the device form of the CSR matrices it is given
    (keyed by object identity; the cache keeps the objects alive so ids cannot
    be reused), so do not modify a matrix in place after passing it.
    """

    _CACHE_SIZE = 4  # validation + test tasks, with room to spare

    def __init__(
        self,
        n_items: int,
        ks: Sequence[int] = DEFAULT_KS,
        batch_size: int = 1024,
        device: str | torch.device = "cpu",
    ):
        if not ks or min(ks) < 1:
            raise ValueError(f"ks must be positive integers, got {ks!r}")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.n_items = n_items
        self.ks = tuple(int(k) for k in ks)
        self.batch_size = batch_size
        self.device = torch.device(device)
        self._cache: dict[tuple[int, ...], tuple[tuple, RankingTask]] = {}

    def prepare(self, truth, exclude: Sequence = ()) -> RankingTask:
        """Return the cached ``RankingTask`` for these matrices, building it once."""
        key = (id(truth), *map(id, exclude))
        hit = self._cache.get(key)
        if hit is not None:
            return hit[1]
        _check_shape(truth, truth.shape[0], self.n_items, "truth")
        task = RankingTask(truth, exclude, self.device)
        if len(self._cache) >= self._CACHE_SIZE:
            self._cache.pop(next(iter(self._cache)))  # drop the oldest entry
        self._cache[key] = ((truth, *exclude), task)  # refs pin the ids
        return task

    def _task(self, truth, exclude: Sequence, task: RankingTask | None) -> RankingTask:
        if task is None:
            if truth is None:
                raise ValueError("pass truth (and exclude) or a RankingTask")
            task = self.prepare(truth, exclude)
        return task

    def _batches(self, user_emb: torch.Tensor, item_emb: torch.Tensor, task: RankingTask):
        """Per batch of evaluated users, each user's metrics (`ranking_metrics_per_user`)."""
        if user_emb.shape[0] != task.n_users:
            raise ValueError(f"{user_emb.shape[0]} user embeddings for {task.n_users} users")
        n_eval = len(task.users)
        users = torch.as_tensor(task.users, device=user_emb.device)
        items = item_emb.to(self.device)
        k = min(max(self.ks), self.n_items)
        for start in range(0, n_eval, self.batch_size):
            stop = min(start + self.batch_size, n_eval)
            batch_emb = user_emb[users[start:stop]].to(self.device)
            top_scores, top_items = _masked_topk(batch_emb, items, task.exclude, start, stop, k)
            # Dense truth for this batch only, to look up the ranked items.
            relevant = torch.zeros(stop - start, self.n_items, dtype=torch.bool, device=self.device)
            relevant[task.truth.batch(start, stop)] = True
            # Masked items padding out a short candidate list are not hits.
            hits = relevant.gather(1, top_items) & torch.isfinite(top_scores)
            yield ranking_metrics_per_user(hits, task.truth.n_per_row[start:stop], self.ks)

    @torch.no_grad()
    def evaluate(
        self,
        user_emb: torch.Tensor,
        item_emb: torch.Tensor,
        truth=None,
        exclude: Sequence = (),
        task: RankingTask | None = None,
    ) -> dict[str, float]:
        """Mean metrics over users with held-out items (NaN if there are none).

        Pass either ``truth``/``exclude`` CSR matrices (cached) or a prebuilt
        ``task``. Keep valid positives in the pool (MMRec) by excluding only
        train; add the valid matrix to ``exclude`` to mask them as well.
        """
        task = self._task(truth, exclude, task)
        keys = metric_keys(self.ks)
        if len(task.users) == 0:
            return {key: float("nan") for key in keys}
        totals = torch.zeros(len(keys), dtype=torch.float64, device=self.device)
        for values in self._batches(user_emb, item_emb, task):
            # float64 reduction keeps streamed sums exact enough over many users
            totals += torch.stack([values[key].sum(dtype=torch.float64) for key in keys])
        return dict(zip(keys, (totals / len(task.users)).tolist()))  # the one host sync

    @torch.no_grad()
    def evaluate_users(
        self,
        user_emb: torch.Tensor,
        item_emb: torch.Tensor,
        truth=None,
        exclude: Sequence = (),
        task: RankingTask | None = None,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Each evaluated user's metrics, for paired tests between models: (user ids, metric ->
        one value per user); `evaluate` is their mean."""
        task = self._task(truth, exclude, task)
        keys = metric_keys(self.ks)
        parts = {key: [] for key in keys}
        for values in self._batches(user_emb, item_emb, task):
            for key in keys:
                parts[key].append(values[key].double().cpu())
        return task.users.copy(), {key: torch.cat(v).numpy() if v else np.zeros(0) for key, v in parts.items()}

    @torch.no_grad()
    def top_k(
        self,
        user_emb: torch.Tensor,
        item_emb: torch.Tensor,
        exclude: Sequence = (),
        k: int = 20,
        users=None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-k (items, scores) per user, excluded items never recommended.

        ``users`` (ids into user_emb rows; default all) selects and orders the
        output rows. k is capped at n_items; if a user has fewer than k
        unmasked items, the tail holds masked items with score -inf.
        """
        n_users = user_emb.shape[0]
        if users is None:
            users = np.arange(n_users)
        elif isinstance(users, torch.Tensor):
            users = users.cpu().numpy().astype(np.int64)
        else:
            users = np.asarray(users, dtype=np.int64)
        blocks = []
        for i, m in enumerate(exclude):
            m = _clean_csr(m)
            _check_shape(m, n_users, self.n_items, f"exclude[{i}]")
            blocks.append(_RowBlock(m, users, self.device))
        k = min(k, self.n_items)
        user_idx = torch.as_tensor(users, device=user_emb.device)
        items = item_emb.to(self.device)
        out_items, out_scores = [], []
        for start in range(0, len(users), self.batch_size):
            stop = min(start + self.batch_size, len(users))
            batch_emb = user_emb[user_idx[start:stop]].to(self.device)
            scores, idx = _masked_topk(batch_emb, items, blocks, start, stop, k)
            out_items.append(idx)
            out_scores.append(scores)
        if not out_items:
            empty = torch.empty(0, k, device=self.device)
            return empty.long(), empty
        return torch.cat(out_items), torch.cat(out_scores)


def _masked_topk(
    batch_emb: torch.Tensor,
    item_emb: torch.Tensor,
    exclude: Sequence[_RowBlock],
    start: int,
    stop: int,
    k: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Score one user batch against all items, mask, and take the top k.

    The single scoring path shared by ``evaluate`` and ``top_k``.
    """
    scores = (batch_emb @ item_emb.T).float()
    for block in exclude:
        scores[block.batch(start, stop)] = float("-inf")
    return torch.topk(scores, k, dim=1)
