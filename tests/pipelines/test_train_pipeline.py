"""The whole `train` pipeline in the `test` environment on generated data, tracked in MLflow."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from mlflow.tracking import MlflowClient

from datagen import write_atomic, write_mmrec


def _run(project, dataset: str, pipeline: str = "train", **params):
    bootstrap_project(project)
    with KedroSession.create(project_path=project, env="test",
                             runtime_params={"dataset": dataset, **params}) as session:
        return session.run(pipeline_names=[pipeline])


def _runs(kedro_project):
    client = MlflowClient(tracking_uri=f"sqlite:///{kedro_project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("siger_kedro")
    return client, client.search_runs([experiment.experiment_id])


def test_train_pipeline_on_atomic_data_records_an_mlflow_run(kedro_project):
    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    _run(kedro_project, "tiny")

    out = kedro_project / "data"
    metrics = json.loads((out / "08_reporting" / "tiny" / "siger" / "metrics.json").read_text())
    for split in ("valid", "test"):
        for k in (5, 10, 20):
            assert 0.0 <= metrics[f"{split}_recall@{k}"] <= 1.0
            assert 0.0 <= metrics[f"{split}_ndcg@{k}"] <= 1.0
    assert (out / "04_feature" / "tiny" / "text_feat.npy").exists()
    assert (out / "04_feature" / "tiny" / "genre_feat.npy").exists()
    assert (out / "08_reporting" / "tiny" / "siger" / "training_curve.png").stat().st_size > 0
    top = pd.read_parquet(out / "07_model_output" / "tiny" / "siger" / "top_k.parquet")
    assert set(top.columns) == {"user", "rank", "item", "score"}
    assert top["user"].str.startswith("u").all() and top["item"].str.startswith("m").all()
    assert top.groupby("user").size().eq(5).all()

    client, runs = _runs(kedro_project)
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.tags["dataset"] == "tiny"
    assert len(run.data.tags["dataset_fingerprint"]) == 16
    assert "git_commit" in run.data.tags
    assert run.data.metrics["test_recall_at_20"] == pytest.approx(metrics["test_recall@20"])
    assert run.data.params["train.settings.model"] == "siger"
    assert run.data.params["train.settings.hyperparameters.embedding_dim"] == "8"  # conf/test over conf/base
    history = client.get_metric_history(run.info.run_id, "epoch/valid_recall_at_20")
    assert [m.step for m in history] == list(range(1, len(history) + 1)) and len(history) >= 2
    # which loss term drives training: each term's weighted gradient norm on the ID tables, per epoch
    for term in ("bpr", "reg", "mp", "mm", "bm"):
        assert len(client.get_metric_history(run.info.run_id, f"epoch/grad_{term}_item")) == len(history)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "reporting")}
    assert {"reporting/metrics.json", "reporting/training_curve.png"} <= artifacts
    assert client.list_artifacts(run.info.run_id, "model")
    # the paper's Figure 1, per modality graph before and after the EISG mix
    coverage = json.loads((out / "08_reporting" / "tiny" / "collaborative_coverage" / "counts.json").read_text())
    assert set(coverage["graphs"]) == {"genre kNN", "text kNN", "genre EISG", "text EISG"}
    totals = {sum(c["items_capturing"].values()) for c in coverage["graphs"].values()}
    assert len(totals) == 1 and 0 < totals.pop() <= 30  # the items with co-occurring items, in every graph
    assert coverage["graphs"]["genre EISG"]["share_capturing_none"] == 0.0  # the mix adds the co-occurrence edges
    assert {a.path for a in client.list_artifacts(run.info.run_id, "reporting/collaborative_coverage")} == {
        "reporting/collaborative_coverage/counts.json", "reporting/collaborative_coverage/figure.png"}


def test_mmrec_split_is_honoured_and_a_failing_run_is_marked_failed(kedro_project):
    write_mmrec(kedro_project / "data" / "01_raw" / "mini")
    _run(kedro_project, "mini", pipeline="ingest")
    interactions = pd.read_parquet(kedro_project / "data" / "02_intermediate" / "mini" / "interactions.parquet")
    assert interactions["split"].value_counts().to_dict() == {0: 120, 1: 20, 2: 20}

    raw = kedro_project / "data" / "01_raw" / "mini"
    import numpy as np
    np.save(raw / "image_feat.npy", np.zeros((3, 12), dtype=np.float32))  # wrong row count
    with pytest.raises(Exception, match="image_feat.npy"):
        _run(kedro_project, "mini", pipeline="features")
    _, runs = _runs(kedro_project)
    assert sorted(r.info.status for r in runs) == ["FAILED", "FINISHED"]


def test_interrupted_training_resumes_and_mlflow_records_it(kedro_project, monkeypatch):
    from siger_kedro.metrics import Evaluator

    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    original, calls = Evaluator.evaluate, {"n": 0}

    def dies_in_epoch_3(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Evaluator, "evaluate", dies_in_epoch_3)
    with pytest.raises(Exception, match="killed"):
        _run(kedro_project, "tiny", pipeline="train")
    [checkpoint] = (kedro_project / "data" / "06_models" / "tiny" / "runs").glob("*/checkpoint.pt")

    monkeypatch.setattr(Evaluator, "evaluate", original)
    _run(kedro_project, "tiny", pipeline="train")
    assert not checkpoint.exists() and (checkpoint.parent / "result.json").exists()
    history = json.loads((kedro_project / "data" / "06_models" / "tiny" / "siger" / "training_history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    client, runs = _runs(kedro_project)
    statuses = {r.info.status: r for r in runs}
    assert set(statuses) == {"FAILED", "FINISHED"}
    assert statuses["FINISHED"].data.tags["resumed_from_epoch"] == "2"


def test_locked_mlflow_store_fails_fast_with_advice_and_writes_nothing(kedro_project):
    import sqlite3

    from siger_kedro.hooks import TrackingStoreError, check_tracking_store

    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    lock = sqlite3.connect(kedro_project / "mlflow.db")
    lock.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(TrackingStoreError, match=r"mlflow\.db cannot be written \(database is locked\)"):
            check_tracking_store(f"sqlite:///{kedro_project / 'mlflow.db'}", timeout=0.1)
        with pytest.raises(Exception, match="disable_tracking"):
            _run(kedro_project, "tiny", pipeline="ingest")
    finally:
        lock.rollback()
        lock.close()
    assert not (kedro_project / "data" / "02_intermediate").exists()  # no node ran
    with pytest.raises(TrackingStoreError, match="unreachable"):
        check_tracking_store("http://127.0.0.1:9", timeout=1)


def test_train_trains_every_registered_model_through_the_same_nodes(kedro_project):
    from click.testing import CliRunner

    from siger_kedro.cli import run
    from siger_kedro.models.registry import MODELS

    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    bootstrap_project(kedro_project)
    for model in MODELS:
        result = CliRunner().invoke(run, ["--pipeline", "train", "--env", "test", "--params",
                                          f"dataset=tiny,train.model={model},training.epochs=2"],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        out = kedro_project / "data"
        metrics = json.loads((out / "08_reporting" / "tiny" / model / "metrics.json").read_text())
        assert 0 <= metrics["test_recall@20"] <= 1 and metrics["epochs_run"] == 2, model
        assert (out / "06_models" / "tiny" / model / "weights.pt").stat().st_size > 0
        assert (out / "08_reporting" / "tiny" / model / "training_curve.png").stat().st_size > 0
        top = pd.read_parquet(out / "07_model_output" / "tiny" / model / "top_k.parquet")
        assert top.groupby("user").size().eq(5).all()
    client, runs = _runs(kedro_project)
    assert len(runs) == len(MODELS) and {r.info.status for r in runs} == {"FINISHED"}
    for r in runs:
        model = r.data.params["train.settings.model"]
        assert r.data.metrics["test_recall_at_20"] == pytest.approx(json.loads(
            (kedro_project / "data" / "08_reporting" / "tiny" / model / "metrics.json").read_text())["test_recall@20"])
        assert len(client.get_metric_history(r.info.run_id, "epoch/train_loss")) == 2
    assert sorted(r.data.params["train.settings.model"] for r in runs) == sorted(MODELS)


def test_unknown_model_is_named_with_the_known_ones(kedro_project):
    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    with pytest.raises(ValueError, match="train.model: unknown model 'nope'; known models: lightgcn, vbpr"):
        _run(kedro_project, "tiny", pipeline="train", train={"model": "nope"})
