"""`kedro run --pipeline ablations` in the test environment: every variant over two seeds,
compared on validation, with nested MLflow runs."""
from __future__ import annotations

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from mlflow.tracking import MlflowClient

from datagen import write_atomic
from siger_kedro.pipelines.ablations.nodes import VARIANTS, compile_ablation_report


def test_ablations_train_every_variant_over_seeds_and_compare_them_on_validation(kedro_project):
    write_atomic(kedro_project / "data" / "01_raw" / "tiny")  # two modalities: genre and text
    bootstrap_project(kedro_project)
    with KedroSession.create(project_path=kedro_project, env="test", runtime_params={"dataset": "tiny"}) as session:
        session.run(pipeline_names=["ablations"])

    table = pd.read_csv(kedro_project / "data" / "08_reporting" / "tiny" / "ablations" / "table.csv")
    names = [*VARIANTS, "siger_genre_only", "siger_text_only"]
    assert list(table["model"]) == names and (table["seeds"] == 2).all()
    for column in ("valid R@20 mean", "valid N@20 mean", "test R@20 mean", "test N@20 mean"):
        assert table[column].between(0, 1).all()
    full = table.set_index("model").loc["siger"]
    assert full["valid R@20 vs siger"] == 0
    assert table.set_index("model")["valid R@20 vs siger"].to_dict() == pytest.approx(
        ((table.set_index("model")["valid R@20 mean"] - full["valid R@20 mean"]) / full["valid R@20 mean"]).to_dict())
    assert pd.isna(full["valid R@20 p"])  # SIGER is not tested against itself
    markdown = (kedro_project / "data" / "08_reporting" / "tiny" / "ablations" / "table.md").read_text()
    assert all(f"| {n} |" in markdown for n in names) and "compared on validation" in markdown
    assert "siger minus each model on valid" in markdown
    # each variant trained something different: one finished run per variant and seed
    runs = list((kedro_project / "data" / "06_models" / "tiny" / "runs").iterdir())
    assert len(runs) == len(names) * 2

    client = MlflowClient(tracking_uri=f"sqlite:///{kedro_project / 'mlflow.db'}")
    found = client.search_runs([client.get_experiment_by_name("siger_kedro").experiment_id])
    parent = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    assert len(parent) == 1 and parent[0].info.status == "FINISHED"
    variants = [r for r in found if r.data.tags.get("mlflow.parentRunId") == parent[0].info.run_id]
    assert sorted(r.data.tags["compare_model"] for r in variants) == sorted(names)
    for variant in variants:
        assert len([r for r in found if r.data.tags.get("mlflow.parentRunId") == variant.info.run_id]) == 2


def test_ablation_report_tests_each_variant_against_siger_over_seeds_on_validation():
    from scipy import stats

    def result(model, valid):  # test scores: half the validation ones
        return {"model": model, "seeds": [
            {"seed": s, "best_epoch": 10 + s, "train_seconds": 1.0, "valid_recall@20": v, "valid_ndcg@20": v / 3,
             "test_recall@20": v / 2, "test_ndcg@20": v / 4} for s, v in valid.items()]}

    siger = {1: 0.30, 2: 0.32, 3: 0.31}
    variants = {v: result(v, {s: x + 0.01 * i * s for s, x in siger.items()}) for i, v in enumerate(VARIANTS)}
    single = [result("siger_text_only", {1: 0.25, 2: 0.20, 3: 0.24})]
    table, markdown = compile_ablation_report({"name": "toy"}, {"seeds": [1, 2, 3]}, single, **variants)
    rows = table.set_index("model")
    assert pd.isna(rows.loc["siger", "valid R@20 p"]) and rows.loc["siger", "valid R@20 vs siger"] == 0
    assert rows.loc["siger_text_only", "valid R@20 p"] == pytest.approx(
        stats.ttest_rel([0.30, 0.32, 0.31], [0.25, 0.20, 0.24]).pvalue)
    assert rows.loc["siger_text_only", "valid R@20 vs siger"] == pytest.approx((0.23 - 0.31) / 0.31)
    assert rows.loc["siger_text_only", "test R@20 mean"] == pytest.approx(0.23 / 2)
    assert "| siger_text_only | +0.0800 (p=" in markdown and "on valid" in markdown
