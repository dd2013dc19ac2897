"""Paired tests over users between SIGER and each other model, from each test user's metrics.

The unit is the test user. Over the seeds both models ran, each user's metric is averaged
(one pair per user: a user's seeds are not independent observations, and counting them as
pairs of their own would overstate the evidence five-fold with five seeds); the Wilcoxon
signed-rank test and the paired t-test run over those user pairs, and a bootstrap confidence
interval of the relative difference resamples the same users. p-values are Holm-corrected over
every comparison in the table, per test.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

METRICS = ("recall@20", "ndcg@20")
LABELS = {"recall@20": "R@20", "ndcg@20": "N@20", "recall@10": "R@10", "ndcg@10": "N@10"}


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN entries stay NaN and are not counted)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def _user_sums(frame: pd.DataFrame, metric: str) -> np.ndarray:
    return frame.groupby("user")[metric].sum().to_numpy()


def _user_means(frame: pd.DataFrame, metric: str) -> np.ndarray:
    return frame.groupby("user")[metric].mean().to_numpy()


def bootstrap_ratio_ci(a: np.ndarray, b: np.ndarray, n_boot: int, seed: int, level: float = 0.95,
                       chunk: int = 100) -> tuple[float, float]:
    """Percentile interval of sum(a[i]) / sum(b[i]) - 1 over users i drawn with replacement
    (a, b: each user's metric summed over the shared seeds)."""
    rng = np.random.default_rng(seed)
    n, ratios = len(a), []
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        num, den = a[idx].sum(1), b[idx].sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios.append(num / den - 1.0)
    ratios = np.concatenate(ratios)
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(low), float(high)


def _paired_p(test, a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.all(a == b):
        return float("nan")  # nothing to test: no pair differs
    return float(test(a, b).pvalue)


def user_tests(per_user: dict[str, pd.DataFrame], model: str = "siger", metrics=METRICS, n_boot: int = 2000,
               seed: int = 0, alpha: float = 0.05) -> pd.DataFrame:
    """One row per other model and metric: users (the pairs), seeds, both means, the relative
    difference and its bootstrap 95% interval, Wilcoxon and t-test p-values over users raw and
    Holm-corrected, and whether the difference is significant (Holm-corrected Wilcoxon p < alpha).
    `per_user[m]` has columns seed, user and the metrics (compare's per_user tables)."""
    if model not in per_user:
        return pd.DataFrame()
    mine = per_user[model]
    rows = []
    for other, theirs in per_user.items():
        if other == model:
            continue
        pairs = mine.merge(theirs, on=["seed", "user"], suffixes=("", "_other"))
        if pairs.empty:
            continue
        for metric in metrics:
            a, b = _user_means(pairs, metric), _user_means(pairs, f"{metric}_other")
            low, high = bootstrap_ratio_ci(_user_sums(pairs, metric), _user_sums(pairs, f"{metric}_other"), n_boot, seed)
            rows.append({"model": other, "metric": metric, "users": len(a), "seeds": pairs["seed"].nunique(),
                         f"{model}": a.mean(), "other": b.mean(),
                         "relative_difference": a.mean() / b.mean() - 1 if b.mean() > 0 else float("nan"),
                         "ci_low": low, "ci_high": high,
                         "wilcoxon_p": _paired_p(stats.wilcoxon, a, b), "ttest_p": _paired_p(stats.ttest_rel, a, b)})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["wilcoxon_p_holm"] = holm(table["wilcoxon_p"])
    table["ttest_p_holm"] = holm(table["ttest_p"])
    table["significant"] = table["wilcoxon_p_holm"] < alpha
    return table


def _percent(x: float) -> str:
    return f"{x:+.2%}" if np.isfinite(x) else "n/a"


def markdown_user_tests(tests: pd.DataFrame, model: str = "siger", alpha: float = 0.05) -> str:
    """The tests as a Markdown table; * marks a difference significant after Holm correction."""
    if tests.empty:
        return ""
    lines = [f"{model} against each model over test users (each user's metric averaged over the shared "
             f"seeds): relative difference of the means [bootstrap 95% CI over users], paired Wilcoxon "
             f"and t-test p-values Holm-corrected over the table; * = significant at {alpha} (Wilcoxon, Holm).", "",
             f"| model | metric | {model} | model | difference [95% CI] | Wilcoxon p | t-test p | users |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for _, r in tests.iterrows():
        mark = " *" if r["significant"] else ""
        lines.append(f"| {r['model']} | {LABELS.get(r['metric'], r['metric'])} | {r[model]:.4f} | {r['other']:.4f} | "
                     f"{_percent(r['relative_difference'])} [{_percent(r['ci_low'])}, {_percent(r['ci_high'])}]{mark} | "
                     f"{r['wilcoxon_p_holm']:.2g} | {r['ttest_p_holm']:.2g} | {r['users']} |")
    return "\n".join(lines) + "\n"


def mean_intervals(per_user: pd.DataFrame, metric: str, n_boot: int = 2000, seed: int = 0,
                   level: float = 0.95) -> tuple[float, float, float]:
    """A model's mean metric over (seed, user) pairs and its bootstrap interval over users."""
    sums = _user_sums(per_user, metric)
    counts = per_user.groupby("user")[metric].size().to_numpy(float)
    low, high = bootstrap_ratio_ci(sums, counts, n_boot, seed, level)  # ratio of sums - 1
    mean = sums.sum() / counts.sum()
    return float(mean), low + 1.0, high + 1.0
