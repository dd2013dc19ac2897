"""Stage caching: `kedro run` skips nodes whose outputs are still valid, and only those."""
from __future__ import annotations


from click.testing import CliRunner
from kedro.framework.startup import bootstrap_project

from datagen import write_atomic
from siger_kedro.cache import KeyStore, reached_modules, stable_hash
from siger_kedro.cli import run

# one output file per node: it is rewritten exactly when the node runs
NODE_OUTPUT = {
    "prepare_dataset": "02_intermediate/tiny/dataset_info.json",
    "extract_features": "04_feature/tiny/genre_feat.npy",
    "build_interaction_graphs": "05_model_input/tiny/ui_adjacency.npz",
    "build_cooccurrence_graph": "05_model_input/tiny/cooccurrence.npz",
    "build_modality_graphs": "05_model_input/tiny/knn/genre.npz",
    "build_eisg": "05_model_input/tiny/eisg/genre.npz",
    "build_consistent_knn_graphs": "05_model_input/tiny/consistent_knn/genre.npz",
    "train.train_model": "06_models/tiny/siger/weights.pt",
    "train.evaluate_model": "08_reporting/tiny/siger/metrics.json",
    "train.plot_training_curve": "08_reporting/tiny/siger/training_curve.png",
    "train.package_recommender": "06_models/tiny/siger/recommender/manifest.json",
    "collaborative_coverage.collaborative_coverage": "08_reporting/tiny/collaborative_coverage/counts.json",
}
MODEL_NODES = {"train.train_model", "train.evaluate_model", "train.plot_training_curve", "train.package_recommender"}


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
    assert _kedro_run(kedro_project, "training.learning_rate=0.002") == MODEL_NODES
    # the kNN size rebuilds the modality graphs and everything downstream, not the features
    assert _kedro_run(kedro_project, "training.learning_rate=0.002", "graphs.knn_k=3") == {
        "build_modality_graphs", "build_consistent_knn_graphs", "build_eisg",
        "collaborative_coverage.collaborative_coverage", *MODEL_NODES}
    # touching the raw data invalidates everything
    inter = kedro_project / "data" / "01_raw" / "tiny" / "tiny.inter"
    inter.write_text(inter.read_text() + "u0\tm29\t5\t999\n")
    assert _kedro_run(kedro_project, "training.learning_rate=0.002", "graphs.knn_k=3") == set(NODE_OUTPUT)


def test_changed_raw_content_with_the_same_size_and_time_reruns_everything(kedro_project):
    import os

    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    bootstrap_project(kedro_project)
    assert _kedro_run(kedro_project) == set(NODE_OUTPUT)
    inter = kedro_project / "data" / "01_raw" / "tiny" / "tiny.inter"
    stat, text = inter.stat(), inter.read_text()
    changed = text.replace("u0\tm20\t", "u0\tm21\t", 1)  # another item, the same number of bytes
    assert len(changed) == len(text) and changed != text
    inter.write_text(changed)
    os.utime(inter, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # what `touch -r` or a restore does
    assert inter.stat().st_size == stat.st_size and inter.stat().st_mtime_ns == stat.st_mtime_ns
    assert "prepare_dataset" in _kedro_run(kedro_project)
    assert _kedro_run(kedro_project) == set()  # and read once: the next run is all cache hits


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
    assert tags["cache_hits"].split(",") == sorted(set(NODE_OUTPUT) - MODEL_NODES)
    assert tags["cache_key.train.train_model"] != runs[1].data.tags["cache_key.train.train_model"]
    assert tags["cache_key.build_eisg"] == runs[1].data.tags["cache_key.build_eisg"]


def test_a_node_is_keyed_on_its_own_model_code_only(kedro_project, monkeypatch):
    from siger_kedro import cache
    from siger_kedro.models.registry import MODELS, module_name

    # The template's nodes reach no model module through imports: the model comes from the settings.
    reached = reached_modules("siger_kedro.pipelines.model.nodes") | reached_modules("siger_kedro.pipelines.compare.nodes")
    assert not reached & {module_name(m) for m in MODELS}
    assert {"siger_kedro.models.losses", "siger_kedro.training.trainer"} <= reached | reached_modules(module_name("siger"))

    # Editing one model's module reruns that model's nodes only, in compare as in train.
    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    bootstrap_project(kedro_project)
    compare = ["--pipeline", "compare", "--env", "test", "--params",
               "dataset=tiny,compare.models=lightgcn vbpr,compare.seeds=[1],compare.budget=1"]
    outputs = {m: kedro_project / "data" / "07_model_output" / "tiny" / "compare" / m / f
               for m in ("lightgcn", "vbpr") for f in ("search.json",)}

    def invoke(args):
        stamps = {m: p.stat().st_mtime_ns if p.exists() else None for m, p in outputs.items()}
        result = CliRunner().invoke(run, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return {m for m, p in outputs.items() if p.stat().st_mtime_ns != stamps[m]}

    assert invoke(compare) == {"lightgcn", "vbpr"}
    # the upstream stages are shared with compare; Figure 1 is train's own
    assert _kedro_run(kedro_project) == MODEL_NODES | {"collaborative_coverage.collaborative_coverage"}
    original = cache.code_version
    edited = lambda name: "edited" if name == module_name("vbpr") else original(name)  # noqa: E731
    monkeypatch.setattr(cache, "code_version", edited)
    assert invoke(compare) == {"vbpr"}
    assert _kedro_run(kedro_project) == set()  # SIGER's training is not vbpr's code
    monkeypatch.setattr(cache, "code_version",
                        lambda name: "edited" if name == module_name("siger") else original(name))
    assert _kedro_run(kedro_project) == MODEL_NODES


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
