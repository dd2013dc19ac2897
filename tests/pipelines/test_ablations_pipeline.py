"""`kedro run --pipeline ablations` in the test environment: every variant over two seeds,
compared on validation, with nested MLflow runs."""
from __future__ import annotations

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from mlflow.tracking import MlflowClient

from datagen import write_atomic
from siger_kedro.pipelines.ablations.nodes import VARIANTS


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
    markdown = (kedro_project / "data" / "08_reporting" / "tiny" / "ablations" / "table.md").read_text()
    assert all(f"| {n} |" in markdown for n in names) and "compared on validation" in markdown
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
