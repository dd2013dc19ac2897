import pytest

from siger_kedro.reporting.sensitivity import sensitivity_figure, sensitivity_markdown, sensitivity_table


def _value(value, valid, test):
    """One value of a sweep, one record per seed: valid recall `valid[i]`, test recall `test[i]`."""
    seeds = [{"seed": s, "best_epoch": 5, "train_seconds": 1.0, "valid_recall@20": v, "valid_ndcg@20": v / 2,
              "test_recall@20": t, "test_ndcg@20": t / 2} for s, (v, t) in enumerate(zip(valid, test))]
    return {"value": value, "seeds": seeds}


SWEEPS = [
    {"parameter": "cooccurrence_k", "default": 5,
     "values": [_value(2, [0.20, 0.22], [0.30, 0.30]), _value(5, [0.25, 0.27], [0.20, 0.22])]},
    # the best on validation is not the best on test: selection is on validation
    {"parameter": "beta", "default": 0.3,
     "values": [_value(0.1, [0.10, 0.10], [0.40, 0.40]), _value(0.3, [0.12, 0.14], [0.10, 0.10]),
                _value(0.5, [0.11, 0.11], [0.10, 0.10])]},
]


def test_table_has_one_row_per_value_and_marks_the_best_on_validation():
    table = sensitivity_table(SWEEPS)
    assert list(zip(table["parameter"], table["value"])) == [
        ("cooccurrence_k", 2), ("cooccurrence_k", 5), ("beta", 0.1), ("beta", 0.3), ("beta", 0.5)]
    assert list(table["best"]) == [False, True, False, True, False]
    assert list(table["default"]) == [False, True, False, True, False]
    k2 = table.iloc[0]
    assert k2["valid R@20 mean"] == pytest.approx(0.21) and k2["valid R@20 std"] == pytest.approx(0.0141421, abs=1e-6)
    assert k2["test R@20 mean"] == pytest.approx(0.30) and k2["test R@20 std"] == 0
    assert k2["valid N@20 mean"] == pytest.approx(0.105) and k2["seeds"] == 2
    assert str(table["value"].iloc[0]) == "2"  # not 2.0 beside beta's floats
    # equal validation recall: the better validation NDCG wins
    tied = {"parameter": "ii_layers", "default": 2, "values": [_value(1, [0.5], [0.5]), _value(2, [0.5], [0.5])]}
    tied["values"][1]["seeds"][0]["valid_ndcg@20"] = 0.3
    assert list(sensitivity_table([tied])["best"]) == [False, True]


def test_markdown_and_figure():
    table = sensitivity_table(SWEEPS)
    md = sensitivity_markdown(table, "tiny", labels={"cooccurrence_k": "K_c", "beta": "β"})
    lines = md.splitlines()
    assert "| K_c | **5 (default, best)** | **0.2600 ± 0.0141** |" in md
    assert "| β | 0.1 | 0.1000 ± 0.0000 |" in md
    assert len([line for line in lines if line.startswith("| K_c") or line.startswith("| β")]) == 5
    fig = sensitivity_figure(table, "tiny", labels={"cooccurrence_k": "K_c", "beta": "β"})
    assert len(fig.axes) == 2
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["0.1", "0.3*", "0.5"]
    assert fig.axes[0].get_xlabel().startswith("K_c")
