"""Top-K ranking metrics (Recall, NDCG, Precision, MAP) from hit matrices.

Binary relevance, MMRec conventions: IDCG and the MAP normaliser use
min(|T_u|, K) positions; Precision divides by K. Users with no relevant item
contribute nothing and are not counted, so callers may pass them harmlessly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

DEFAULT_KS: tuple[int, ...] = (5, 10, 20, 50)
METRIC_NAMES: tuple[str, ...] = ("recall", "ndcg", "precision", "map")


def metric_keys(ks: Sequence[int]) -> list[str]:
    """Result keys in a fixed order, e.g. ``recall@5``."""
    return [f"{name}@{k}" for k in ks for name in METRIC_NAMES]


def ranking_metrics_per_user(
    hits: torch.Tensor, n_relevant: torch.Tensor, ks: Sequence[int] = DEFAULT_KS
) -> dict[str, torch.Tensor]:
    """Each user's metrics (float32 tensors of one value per row, on ``hits.device``).

    ``hits[u, r]`` is 1 when the item at rank r+1 is relevant for user u;
    ``n_relevant[u]`` is |T_u|; a user without relevant items scores 0 everywhere.
    Fully vectorised and free of host synchronisation.
    """
    if not ks:
        raise ValueError("ks must not be empty")
    max_k = max(ks)
    hits = hits.to(torch.float32)
    if hits.shape[1] < max_k:  # fewer candidates than K: missing ranks are misses
        hits = torch.nn.functional.pad(hits, (0, max_k - hits.shape[1]))
    hits = hits[:, :max_k]
    n_rel = n_relevant.to(device=hits.device, dtype=torch.float32)
    valid = (n_rel > 0).to(torch.float32)

    ranks = torch.arange(1, max_k + 1, device=hits.device, dtype=torch.float32)
    discount = 1.0 / torch.log2(ranks + 1.0)
    cum_hits = hits.cumsum(1)
    cum_dcg = (hits * discount).cumsum(1)
    cum_ap = (hits * cum_hits / ranks).cumsum(1)  # running sum of P@k * rel_k
    ideal_dcg = discount.cumsum(0)  # ideal_dcg[n-1] = IDCG with n relevant items

    values: dict[str, torch.Tensor] = {}
    for k in ks:  # loop over the few Ks only, never over users
        n_ideal = n_rel.clamp(max=k)  # min(|T_u|, K)
        safe = n_ideal.clamp(min=1)  # avoid 0/0 for users without truth
        idcg = ideal_dcg[(safe.long() - 1)]
        per_user = {
            "recall": cum_hits[:, k - 1] / n_rel.clamp(min=1),
            "ndcg": cum_dcg[:, k - 1] / idcg,
            "precision": cum_hits[:, k - 1] / k,
            "map": cum_ap[:, k - 1] / safe,
        }
        for name in METRIC_NAMES:
            values[f"{name}@{k}"] = per_user[name] * valid
    return values


def ranking_metric_sums(
    hits: torch.Tensor, n_relevant: torch.Tensor, ks: Sequence[int] = DEFAULT_KS
) -> dict[str, torch.Tensor]:
    """Per-metric sums over users (0-dim float64 tensors on ``hits.device``) of
    `ranking_metrics_per_user`. Sums (not means) let callers stream batches and divide
    once by the number of users with |T_u| > 0."""
    # float64 reduction keeps streamed sums exact enough over many users
    return {key: v.sum(dtype=torch.float64) for key, v in ranking_metrics_per_user(hits, n_relevant, ks).items()}


def ranking_metrics(
    hits: torch.Tensor, n_relevant: torch.Tensor, ks: Sequence[int] = DEFAULT_KS
) -> dict[str, float]:
    """Means over users with |T_u| > 0 (NaN if there are none)."""
    sums = ranking_metric_sums(hits, n_relevant, ks)
    n_users = int((torch.as_tensor(n_relevant) > 0).sum())
    keys = metric_keys(ks)
    values = torch.stack([sums[key] for key in keys]).tolist()  # one host sync
    return {key: (v / n_users if n_users else float("nan")) for key, v in zip(keys, values)}
