"""The benchmark end to end at its tiny scale: outputs, their shape, and the MLflow run."""
import json
import subprocess
import sys

from mlflow.tracking import MlflowClient

from siger_kedro.bench.__main__ import main


def _numbers(tree, path=""):
    """(path, value) of every numeric leaf, booleans left out."""
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _numbers(v, f"{path}.{k}")
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from _numbers(v, f"{path}[{i}]")
    elif isinstance(tree, (int, float)) and not isinstance(tree, bool):
        yield path, tree


def test_tiny_benchmark_writes_json_plot_and_mlflow_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # MLflow's artifact folder lands in the working directory
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    main(["--sizes-scale", "tiny", "--out", str(tmp_path / "bench"), "--tracking-uri", uri, "--device", "cpu"])

    report = json.loads((tmp_path / "bench" / "bench.json").read_text())
    assert (tmp_path / "bench" / "scaling.png").stat().st_size > 0
    for key in ("environment", "ingestion", "ml100k_epoch", "evaluation", "graph_scaling", "epoch_scaling", "memory"):
        assert key in report
    assert {"cpu", "threads", "torch", "python"} <= set(report["environment"])
    for name in ("lightgcn", "siger"):
        epoch = report["ml100k_epoch"][name]
        assert set(epoch["phases"]) == {"sampling", "forward_losses", "backward", "optimizer_step"}
        assert {"torch_sparse_mm_seconds", "sparse_operator_seconds"} <= set(epoch["floor"])
        assert epoch["epoch_over_floor_sparse_operator"] > 0
    assert report["evaluation"]["evaluate_over_bare"] > 0
    breakdown = report["siger_breakdown_ms"]
    assert breakdown["info_nce_terms"] == 6 and breakdown["whole_loss"] > breakdown["one_info_nce_over_unique_items"]
    assert [p["processes"] for p in report["processes"]["lightgcn"]] == [1, 2]
    assert report["memory"]["peak_rss_mb"] > 0
    # every time, size and count is positive; only memory growth may be 0
    for path, value in _numbers(report):
        assert value > 0 or (value == 0 and "growth" in path), (path, value)
    series = [*report["graph_scaling"].values(), report["epoch_scaling"]["lightgcn"]]
    assert len(series) == 3
    for points in series:
        sizes = [p["size"] for p in points]
        assert len(sizes) >= 2 and sizes == sorted(sizes)
        assert all(p["seconds"] > 0 for p in points)
    for p in (*report["graph_scaling"]["cooccurrence"], *report["graph_scaling"]["knn"]):
        assert p["peak_rss_growth_mb"] >= 0 and p["peak_rss_mb"] > 0

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("siger_kedro_bench")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    metrics = run.data.metrics
    assert metrics["ml100k_epoch.siger.seconds"] > 0
    assert "graph_scaling.knn.100.seconds" in metrics
    assert not any("@" in k for k in metrics)
    assert run.data.params["env.torch"] == report["environment"]["torch"]
    assert {f.path for f in client.list_artifacts(run.info.run_id)} == {"bench.json", "scaling.png"}
    assert "ML-100k epoch" in capsys.readouterr().out


def test_bench_modules_do_not_import_kedro():
    code = ("import sys, siger_kedro.bench.__main__, siger_kedro.bench.graph_scaling; "
            "assert not [m for m in sys.modules if m.split('.')[0] == 'kedro']")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_degree_summary_counts_hubs_empty_rows_and_missing_self_loops():
    import numpy as np
    import scipy.sparse as sp

    from siger_kedro.bench.graph_degrees import degree_summary

    g = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]], dtype=np.float32))
    assert degree_summary(g, hubs=1) == {"max_in_degree": 3, "share_into_top_1": 0.6, "empty_rows": 1,
                                         "rows_without_self": 2}
    assert "rows_without_self" not in degree_summary(g, self_loops=False)
