"""`kedro run --pipeline cold_start` on tiny data in the test environment."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from datagen import write_atomic
from projects import run_pipeline
from siger_kedro.data.split import TRAIN
from siger_kedro.parameters import ParameterError


def test_cold_start_pipeline_trains_on_the_cold_split_and_reports_cold_and_all_items(kedro_project):
    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    # the four trainings (two models x two seeds) in two worker processes, reported in order
    run_pipeline(kedro_project, "cold_start", **{"experiments.workers": 2})
    data = kedro_project / "data"
    assert len(list((data / "06_models" / "tiny" / "runs").iterdir())) == 4
    cold = json.loads((data / "02_intermediate" / "tiny" / "cold_start" / "cold_items.json").read_text())
    assert len(cold["cold_items"]) == 6 and cold["fraction"] == 0.2  # 20% of 30 items
    inter = pd.read_parquet(data / "02_intermediate" / "tiny" / "cold_start" / "interactions.parquet")
    assert not ((inter["split"] == TRAIN) & inter["item"].isin(cold["cold_items"])).any()

    table = pd.read_csv(data / "08_reporting" / "tiny" / "cold_start" / "table.csv")
    assert table["model"].tolist() == ["siger", "lightgcn"] and (table["seeds"] == 2).all()
    for column in ("all items R@20 mean", "cold items R@20 mean", "cold items N@20 std", "cold among cold R@20 mean"):
        assert table[column].between(0, 1).all()
    # the same users and the same order of cold items, with no warm item taking a slot: recall
    # among cold items alone is at least recall of the cold items among all items
    results = json.loads((data / "07_model_output" / "tiny" / "cold_start" / "results.json").read_text())
    for seed in (s for r in results for s in r["seeds"]):
        assert seed["cold_among_cold_test_recall@20"] >= seed["cold_test_recall@20"] - 1e-12
        assert seed["cold_among_cold_test_recall@10"] == pytest.approx(1.0)  # 6 cold items: all in the top 10
    assert (data / "08_reporting" / "tiny" / "cold_start" / "chart.png").stat().st_size > 0
    assert "cold items R@20" in (data / "08_reporting" / "tiny" / "cold_start" / "table.md").read_text()

    client = MlflowClient(tracking_uri=f"sqlite:///{kedro_project / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("siger_kedro").experiment_id])
    names = sorted(r.data.tags["mlflow.runName"] for r in runs if "/seed-" in r.data.tags.get("mlflow.runName", ""))
    assert names == ["lightgcn/seed-1", "lightgcn/seed-2", "siger/seed-1", "siger/seed-2"]
    # trained by the workers, so the reporting loop found every run finished in the store
    assert all("reused_run" in r.data.tags for r in runs if "/seed-" in r.data.tags.get("mlflow.runName", ""))


def test_unknown_cold_start_model_is_refused_before_anything_runs(kedro_project):
    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    with pytest.raises(ParameterError, match=r"cold_start.models names \['nosuch'\]"):
        run_pipeline(kedro_project, "cold_start", **{"cold_start.models": "nosuch"})
    assert not (kedro_project / "data" / "02_intermediate" / "tiny").exists()
