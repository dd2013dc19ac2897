"""Paired tests over users: Holm's correction, the bootstrap interval and the table, by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from siger_kedro.reporting.significance import (
    bootstrap_ratio_ci,
    holm,
    markdown_user_tests,
    mean_intervals,
    user_tests,
)


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.04 over m = 3: 0.03, max(0.03, 0.04), max(0.04, 0.04); NaN ignored
    assert holm([0.04, 0.01, np.nan, 0.02]) == pytest.approx([0.04, 0.03, np.nan, 0.04], nan_ok=True)
    assert holm([0.6, 0.5]) == pytest.approx([1.0, 1.0])  # capped at 1, kept monotone


def test_bootstrap_interval_covers_the_ratio_and_shrinks_with_more_users():
    rng = np.random.default_rng(0)
    small_a, small_b = rng.random(50) + 0.1, rng.random(50)
    low, high = bootstrap_ratio_ci(small_a, small_b, 500, seed=1)
    assert low < small_a.sum() / small_b.sum() - 1 < high
    big_a, big_b = rng.random(5000) + 0.1, rng.random(5000)
    big_low, big_high = bootstrap_ratio_ci(big_a, big_b, 500, seed=1)
    assert big_high - big_low < high - low
    assert bootstrap_ratio_ci(small_a, small_b, 500, seed=1) == (low, high)  # seeded


def _frame(values: dict[int, np.ndarray]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"seed": s, "user": np.arange(len(v)), "recall@20": v, "ndcg@20": v / 2})
                      for s, v in values.items()], ignore_index=True)


def test_user_tests_pair_users_averaged_over_seeds_and_mark_only_clear_differences():
    rng = np.random.default_rng(3)
    base = {s: rng.random(200) for s in (1, 2)}
    per_user = {
        "siger": _frame({s: v + 0.1 for s, v in base.items()}),  # better for every user
        "lightgcn": _frame(base),
        "noise": _frame({s: v + 0.1 + rng.normal(0, 0.01, 200) for s, v in base.items()}),
        "other_seed": _frame({3: base[1]}),  # no seed in common: no row
    }
    table = user_tests(per_user, n_boot=300).set_index(["model", "metric"])
    assert sorted(table.index.get_level_values(0).unique()) == ["lightgcn", "noise"]
    row = table.loc[("lightgcn", "recall@20")]
    b = (base[1] + base[2]) / 2  # each user's mean over the two seeds: one pair per user
    a = b + 0.1
    assert row["users"] == 200 and row["seeds"] == 2
    assert row["relative_difference"] == pytest.approx(a.mean() / b.mean() - 1)
    assert row["wilcoxon_p"] == pytest.approx(stats.wilcoxon(a, b).pvalue)
    assert row["ttest_p"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert row["ci_low"] < row["relative_difference"] < row["ci_high"] and row["ci_low"] > 0
    assert row["significant"] and not table.loc[("noise", "recall@20"), "significant"]
    # four tests in the family: Holm multiplies the smallest p by 4
    assert table["wilcoxon_p_holm"].min() == pytest.approx(min(1.0, 4 * table["wilcoxon_p"].min()))
    markdown = markdown_user_tests(table.reset_index())
    assert "| lightgcn | R@20 |" in markdown and "* |" in markdown


def test_identical_models_have_no_p_value_and_no_mark():
    same = _frame({1: np.linspace(0, 1, 10)})
    table = user_tests({"siger": same, "copy": same.copy()}, n_boot=50)
    assert table["wilcoxon_p"].isna().all() and not table["significant"].any()
    assert table["relative_difference"].tolist() == [0.0, 0.0]


def test_mean_interval_surrounds_the_mean():
    frame = _frame({1: np.linspace(0, 1, 101), 2: np.linspace(0, 1, 101)})
    mean, low, high = mean_intervals(frame, "recall@20", n_boot=300)
    assert mean == pytest.approx(0.5) and low < 0.5 < high
