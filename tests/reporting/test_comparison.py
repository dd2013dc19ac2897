import numpy as np
import pytest

from siger_kedro.reporting.comparison import bar_chart, improvement, markdown_table, summarize


def _result(model, recalls):
    seeds = [{"seed": s, "best_epoch": 10 + s, "train_seconds": 2.0, "test_recall@10": r / 2,
              "test_recall@20": r, "test_ndcg@10": r / 4, "test_ndcg@20": r / 3} for s, r in enumerate(recalls)]
    return {"model": model, "seeds": seeds}


def test_mean_std_and_improvement_hand_computed():
    table = summarize([_result("lightgcn", [0.30, 0.32, 0.34]), _result("vbpr", [0.20, 0.20, 0.20]),
                       _result("siger", [0.33, 0.33, 0.36])])
    row = table.set_index("model").loc["lightgcn"]
    assert row["R@20 mean"] == pytest.approx(0.32)
    assert row["R@20 std"] == pytest.approx(0.02)  # sample std of 0.30, 0.32, 0.34
    assert row["seeds"] == 3 and row["mean_best_epoch"] == pytest.approx(11)
    assert row["best_epochs"] == "10, 11, 12"  # each seed's, so that a run stopped at epoch 1 shows
    assert improvement(table)["R@20"] == pytest.approx((0.34 - 0.32) / 0.32)


def test_markdown_bolds_the_best_and_ends_with_the_improvement():
    table = summarize([_result("lightgcn", [0.30, 0.34]), _result("siger", [0.22, 0.26])])
    md = markdown_table(table, "tiny")
    assert "| lightgcn | " in md and "**0.3200 ± 0.0283**" in md
    assert md.strip().splitlines()[-1].startswith("| improv.") and "-25.00%" in md
    assert bar_chart(table, "tiny").axes[0].get_legend() is not None


def test_one_seed_shows_the_mean_alone():
    md = markdown_table(summarize([_result("lightgcn", [0.30]), _result("siger", [0.33])]), "tiny")
    assert "| lightgcn | 0.1500 | 0.3000 |" in md and "±" not in md
    assert md.splitlines()[4].endswith("| 1 | 10 |")  # seeds, then the seed's best epoch


def test_no_improvement_row_without_siger():
    assert improvement(summarize([_result("lightgcn", [0.3])])) == {}


def test_paired_seed_tests_by_hand():
    from scipy import stats

    from siger_kedro.reporting.comparison import markdown_tests, paired_seed_tests

    def result(model, values):
        return {"model": model, "seeds": [{"seed": s, "test_recall@20": v, "test_ndcg@20": v / 2}
                                          for s, v in values.items()]}

    siger = result("siger", {1: 0.30, 2: 0.32, 3: 0.31})
    other = result("lightgcn", {1: 0.29, 2: 0.30, 3: 0.30, 4: 0.5})  # seed 4: not shared, left out
    lone = result("vbpr", {9: 0.1})
    tests = paired_seed_tests([siger, other, lone], metrics={"recall@20": "R@20", "ndcg@20": "N@20"})
    assert tests["model"].tolist() == ["lightgcn"] and tests["seeds"].tolist() == [3]
    row = tests.iloc[0]
    assert row["R@20 diff"] == pytest.approx((0.01 + 0.02 + 0.01) / 3)
    assert row["R@20 p"] == pytest.approx(stats.ttest_rel([0.30, 0.32, 0.31], [0.29, 0.30, 0.30]).pvalue)
    text = markdown_tests(tests, metrics={"recall@20": "R@20", "ndcg@20": "N@20"})
    assert "| lightgcn | +0.0133 (p=" in text and text.endswith("| 3 |\n")
    assert paired_seed_tests([other]).empty  # no siger: nothing to test


def test_improvement_over_a_zero_score_is_not_a_number_and_shown_as_na():
    table = summarize([{"model": "siger", "seeds": [{"seed": 1, "best_epoch": 1, "train_seconds": 1.0,
                                                     "test_recall@20": 0.0}]},
                       {"model": "lightgcn", "seeds": [{"seed": 1, "best_epoch": 1, "train_seconds": 1.0,
                                                        "test_recall@20": 0.0}]}], {"recall@20": "R@20"})
    assert np.isnan(improvement(table, metrics={"recall@20": "R@20"})["R@20"])
    assert "| improv. (siger vs best other) | n/a | |" in markdown_table(table, "t", {"recall@20": "R@20"})
