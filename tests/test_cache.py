"""Stage caching: `kedro run` skips nodes whose outputs are still valid, and only those."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from kedro.framework.startup import bootstrap_project

from datagen import write_atomic
from siger_kedro.cache import KeyStore, code_version, reached_modules, stable_hash
from siger_kedro.cli import run

# one output file per node: it is rewritten exactly when the node runs
NODE_OUTPUT = {
    "prepare_dataset": "02_intermediate/tiny/dataset_info.json",
    "extract_features": "04_feature/tiny/genre_feat.npy",
    "build_interaction_graphs": "05_model_input/tiny/ui_adjacency.npz",
    "build_cooccurrence_graph": "05_model_input/tiny/cooccurrence.npz",
    "build_modality_graphs": "05_model_input/tiny/knn/genre.npz",
    "build_eisg": "05_model_input/tiny/eisg/genre.npz",
    "train_siger": "06_models/tiny/siger_weights.pt",
    "evaluate_model": "08_reporting/tiny/metrics.json",
    "plot_training_curve": "08_reporting/tiny/training_curve.png",
}


def _kedro_run(project, *params: str) -> set[str]:
    """Run `kedro run --pipeline train --env test` in-process; the names of the nodes that ran."""
    before = {n: (project / "data" / f).stat().st_mtime_ns if (project / "data" / f).exists() else None
              for n, f in NODE_OUTPUT.items()}
    result = CliRunner().invoke(run, ["--pipeline", "train", "--env", "test", "--params",
                                      ",".join(["dataset=tiny", *params])], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return {n for n, f in NODE_OUTPUT.items() if (project / "data" / f).stat().st_mtime_ns != before[n]}


def test_second_run_skips_everything_and_changes_rerun_only_downstream(kedro_project):
    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    bootstrap_project(kedro_project)
    assert _kedro_run(kedro_project) == set(NODE_OUTPUT)
    assert _kedro_run(kedro_project) == set()  # nothing changed: every node is a cache hit
    # a training parameter reuses ingestion, features and graphs
    assert _kedro_run(kedro_project, "training.learning_rate=0.002") == {
        "train_siger", "evaluate_model", "plot_training_curve"}
    # the kNN size rebuilds the modality graphs and everything downstream, not the features
    assert _kedro_run(kedro_project, "training.learning_rate=0.002", "graphs.knn_k=3") == {
        "build_modality_graphs", "build_eisg", "train_siger", "evaluate_model", "plot_training_curve"}
    # touching the raw data invalidates everything
    inter = kedro_project / "data" / "01_raw" / "tiny" / "tiny.inter"
    inter.write_text(inter.read_text() + "u0\tm29\t5\t999\n")
    assert _kedro_run(kedro_project, "training.learning_rate=0.002", "graphs.knn_k=3") == set(NODE_OUTPUT)


def test_keys_are_logged_to_mlflow(kedro_project):
    from mlflow.tracking import MlflowClient

    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    bootstrap_project(kedro_project)
    _kedro_run(kedro_project)
    _kedro_run(kedro_project, "training.epochs=2")
    client = MlflowClient(tracking_uri=f"sqlite:///{kedro_project / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("siger_kedro").experiment_id],
                              order_by=["attributes.start_time DESC"])
    tags = runs[0].data.tags
    assert tags["cache_hits"].split(",") == sorted(set(NODE_OUTPUT) - {
        "train_siger", "evaluate_model", "plot_training_curve"})
    assert tags["cache_key.train_siger"] != runs[1].data.tags["cache_key.train_siger"]
    assert tags["cache_key.build_eisg"] == runs[1].data.tags["cache_key.build_eisg"]


def test_code_version_follows_project_imports():
    # the training node depends on the model code, the features node does not
    from siger_kedro.pipelines.training import nodes as training_nodes

    assert code_version("siger_kedro.pipelines.training.nodes") != code_version("siger_kedro.pipelines.features.nodes")
    assert training_nodes.__name__ == "siger_kedro.pipelines.training.nodes"


def test_training_nodes_reach_every_model_module():
    # a change to any model's code must invalidate cached training and comparison results
    from siger_kedro.models.registry import MODELS

    models = {module.__name__ for module, _ in MODELS.values()}
    for nodes in ("siger_kedro.pipelines.training.nodes", "siger_kedro.pipelines.compare.nodes",
                  "siger_kedro.pipelines.evaluation.nodes"):
        reached = reached_modules(nodes)
        assert models <= reached, sorted(models - reached)
        assert {"siger_kedro.models.losses", "siger_kedro.models.propagation"} <= reached


def test_key_store_needs_every_output_with_the_same_key(tmp_path):
    store = KeyStore(tmp_path / "keys.json")
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("1")
    assert not store.fresh([a, b], "k")
    b.write_text("2")
    store.record([a, b], "k")
    assert store.fresh([a, b], "k") and not store.fresh([a, b], "other") and not store.fresh([a, None], "k")
    (tmp_path / "keys.json").write_text("{broken")
    assert not store.fresh([a, b], "k")  # a damaged store costs a recomputation, not an error
    assert stable_hash({"b": 1, "a": [1, 2]}) == stable_hash({"a": [1, 2], "b": 1})
