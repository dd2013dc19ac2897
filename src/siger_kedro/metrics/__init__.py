"""Full-ranking top-K evaluation (MMRec protocol)."""

from .evaluator import Evaluator, RankingTask
from .ranking import DEFAULT_KS, metric_keys, ranking_metric_sums, ranking_metrics, ranking_metrics_per_user

__all__ = [
    "DEFAULT_KS",
    "Evaluator",
    "RankingTask",
    "metric_keys",
    "ranking_metric_sums",
    "ranking_metrics",
    "ranking_metrics_per_user",
]
