"""The MLflow UI's server and kedro-viz as a user meets them after `train` and `compare`: the
runs, nested runs, metrics and artifacts through the tracking server's REST API; every dataset
in its layer, stage tags, the experiment pipelines as namespaces and previews in kedro-viz."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

from servers import free_port, project_env, running


@pytest.fixture
def tracking_server(in_trained_project):
    """`mlflow server` on the project's store, as `mlflow ui` serves it."""
    port = free_port()
    with running(["mlflow", "server", "--backend-store-uri", f"sqlite:///{in_trained_project / 'mlflow.db'}",
                  "--host", "127.0.0.1", "--port", str(port), "--workers", "1"], in_trained_project, "/health",
                 port) as url:
        yield url


def _api(url: str, endpoint: str, body: dict | None = None, **query) -> dict:
    full = f"{url}/api/2.0/mlflow/{endpoint}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(full, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_tracking_server_shows_train_and_compare_runs_metrics_and_artifacts(in_trained_project, tracking_server):
    # as a user runs it: the project's `kedro run` trains only the selected models
    subprocess.run([sys.executable, "-m", "kedro", "run", "--pipeline", "compare", "--env", "test",
                    "--params", "dataset=tiny,compare.models=lightgcn,compare.budget=1"],
                   cwd=in_trained_project, env=project_env(in_trained_project), check=True, capture_output=True,
                   timeout=600)
    experiment = _api(tracking_server, "experiments/get-by-name", experiment_name="siger_kedro")["experiment"]
    runs = _api(tracking_server, "runs/search", {"experiment_ids": [experiment["experiment_id"]],
                                                  "max_results": 1000})["runs"]
    tags = {r["info"]["run_id"]: {t["key"]: t["value"] for t in r["data"].get("tags", [])} for r in runs}
    by_pipeline = {}
    for run in runs:
        by_pipeline.setdefault(tags[run["info"]["run_id"]].get("pipeline_names"), []).append(run)
    train = by_pipeline["['train']"][0]
    metrics = {m["key"]: m["value"] for m in train["data"]["metrics"]}
    assert 0 <= metrics["test_recall_at_20"] <= 1 and train["info"]["status"] == "FINISHED"
    files = {f["path"] for f in _api(tracking_server, "artifacts/list", run_id=train["info"]["run_id"],
                                     path="reporting").get("files", [])}
    assert {"reporting/metrics.json", "reporting/training_curve.png"} <= files

    compare = by_pipeline["['compare']"][0]["info"]["run_id"]
    children = [r for r in runs if tags[r["info"]["run_id"]].get("mlflow.parentRunId") == compare]
    assert [tags[r["info"]["run_id"]]["compare_model"] for r in children] == ["lightgcn"]
    seeds = [r for r in runs if tags[r["info"]["run_id"]].get("mlflow.parentRunId") == children[0]["info"]["run_id"]
             and "/seed-" in tags[r["info"]["run_id"]].get("mlflow.runName", "")]
    assert len(seeds) == 2  # conf/test: seeds [1, 2]
    assert all(any(m["key"] == "test_recall_at_20" for m in r["data"]["metrics"]) for r in seeds)
    history = _api(tracking_server, "metrics/get-history", run_id=seeds[0]["info"]["run_id"],
                   metric_key="epoch/valid_recall_at_20")["metrics"]
    assert len(history) >= 2


def test_kedro_viz_shows_layers_stage_tags_namespaces_and_previews(in_trained_project):
    project = in_trained_project
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    subprocess.run([sys.executable, "-m", "kedro", "viz", "build", "--include-previews"], cwd=project, env=env,
                   check=True, capture_output=True, timeout=300)
    api = project / "build" / "api"
    graph = json.loads((api / "main").read_text())
    data = {n["name"]: n for n in graph["nodes"] if n["type"] == "data"}
    assert all(n.get("layer") for n in data.values()), [k for k, n in data.items() if not n.get("layer")]
    assert data["raw_dataset"]["layer"] == "raw" and data["mi_eisg"]["layer"] == "model_input"
    assert set(graph["layers"]) >= {"raw", "intermediate", "feature", "model_input", "models", "model_output",
                                    "reporting"}
    assert {t["id"] for t in graph["tags"]} >= {"ingest", "features", "graphs", "training", "evaluation", "serving"}
    assert {"train"} <= set(graph["modular_pipelines"])  # the default pipeline, `train`
    for experiment in ("compare", "ablations", "sensitivity", "recommend"):  # each experiment pipeline as a namespace
        assert experiment in json.loads((api / "pipelines" / experiment).read_text())["modular_pipelines"]
    previews = {}
    for name in ("train.top_k", "train.metrics", "train.training_curve", "int_interactions"):
        node = json.loads((api / "nodes" / data[name]["id"]).read_text())
        previews[name] = node.get("preview")
    assert all(previews.values()), {k: bool(v) for k, v in previews.items()}
    assert len(previews["train.top_k"]["data"]) == 10  # preview_args: nrows 10
