"""The project as users see it: registered pipelines and the kedro-viz build."""
import json
import os
import subprocess
import sys

from siger_kedro.pipeline_registry import register_pipelines


def test_train_pipeline_is_every_stage_in_order():
    pipelines = register_pipelines()
    assert {"ingest", "features", "graphs", "training", "evaluation", "train", "__default__"} <= set(pipelines)
    train = pipelines["train"]
    assert [n.name for n in train.nodes][0] == "prepare_dataset"
    assert train.inputs() == {"raw_dataset", "params:ingest", "params:features", "params:graphs.cooccurrence_k",
                              "params:graphs.knn_k", "params:graphs.knn_backend", "params:graphs.beta", "params:training",
                              "params:evaluation", "params:train.settings", "params:recommend", "mo_training_runs"}


def test_kedro_viz_build_draws_every_dataset_in_its_layer(kedro_project):
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    subprocess.run([sys.executable, "-m", "kedro", "viz", "build"], cwd=kedro_project, env=env,
                   check=True, capture_output=True, timeout=300)
    graph = json.loads((kedro_project / "build" / "api" / "main").read_text())
    data = {n["name"]: n.get("layer") for n in graph["nodes"] if n["type"] == "data"}
    assert data["raw_dataset"] == "raw" and data["mi_eisg"] == "model_input"
    assert all(layer for name, layer in data.items()), data
    assert set(graph["layers"]) == {"raw", "intermediate", "primary", "feature", "model_input",
                                    "models", "model_output", "reporting"}
