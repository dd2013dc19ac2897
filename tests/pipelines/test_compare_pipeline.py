"""`kedro run --pipeline compare` in the test environment: search, seeds, report, MLflow runs."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from mlflow.tracking import MlflowClient

from datagen import write_atomic
from projects import run_cli

from siger_kedro.models.registry import MODELS as REGISTERED

MODELS = list(REGISTERED)  # all eleven rows of Table 1


def _run(project, **params):
    bootstrap_project(project)
    with KedroSession.create(project_path=project, env="test", runtime_params={"dataset": "tiny", **params}) as session:
        return session.run(pipeline_names=["compare"])


def _cli(project, *params: str):
    """`kedro run --pipeline compare --env test` as a user types it (cache and model selection)."""
    run_cli(project, "compare", *params)


def test_compare_reports_every_selected_model_with_nested_mlflow_runs(kedro_project):
    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    _run(kedro_project, compare={"models": MODELS})

    report = kedro_project / "data" / "08_reporting" / "tiny" / "compare"
    table = pd.read_csv(report / "table.csv")
    assert list(table["model"]) == [*MODELS, "improv. (siger vs best other)"]
    rows = table.iloc[: len(MODELS)]
    assert (rows["seeds"] == 2).all()
    for label in ("R@10", "R@20", "N@10", "N@20"):
        assert rows[f"{label} mean"].between(0, 1).all() and (rows[f"{label} std"] >= 0).all()
        best_other = rows[rows["model"] != "siger"][f"{label} mean"].max()
        siger = rows.set_index("model").loc["siger", f"{label} mean"]
        assert table.iloc[-1][f"{label} mean"] == pytest.approx((siger - best_other) / best_other)
    markdown = (report / "table.md").read_text()
    assert all(f"| {m} |" in markdown for m in MODELS) and "±" in markdown
    # paired tests over users (each averaged over the seeds): SIGER against each other model
    tests = pd.read_csv(report / "user_tests.csv")
    assert sorted(tests["model"].unique()) == sorted(m for m in MODELS if m != "siger")
    assert set(tests["metric"]) == {"recall@20", "ndcg@20"}
    assert (tests["seeds"] == 2).all() and (tests["wilcoxon_p_holm"].dropna() >= tests["wilcoxon_p"].dropna()).all()
    assert "Wilcoxon" in markdown
    assert (report / "chart.png").stat().st_size > 0

    out = kedro_project / "data" / "07_model_output" / "tiny" / "compare"
    search = json.loads((out / "lightgcn" / "search.json").read_text())
    assert len(search["trials"]) == 2 and {t["state"] for t in search["trials"]} <= {"COMPLETE", "PRUNED"}
    assert search["trials"][0]["hyperparameters"]["layers"] == 3  # the defaults come first
    best = max(search["trials"], key=lambda t: t["valid_recall@20"])
    assert search["best_hyperparameters"] == best["hyperparameters"]
    results = json.loads((out / "lightgcn" / "results.json").read_text())
    assert [s["seed"] for s in results["seeds"]] == [1, 2]
    assert results["hyperparameters"] == search["best_hyperparameters"]
    # the first seed is the search's seed: its trial is reused, not trained again
    assert results["seeds"][0]["test_recall@20"] == best["test_recall@20"]
    # the per-model template ran on the chosen setting: weights, scores, top-K, curve
    for model in MODELS:
        metrics = json.loads((kedro_project / "data" / "08_reporting" / "tiny" / "compare" / model / "metrics.json").read_text())
        chosen = json.loads((out / model / "results.json").read_text())["seeds"][0]
        assert metrics["test_recall@20"] == pytest.approx(chosen["test_recall@20"]), model
        assert (out / model / "top_k.parquet").exists()
        # each test user's metrics per seed: their means are the seed's test scores
        per_user = pd.read_parquet(out / model / "per_user.parquet")
        seeds = json.loads((out / model / "results.json").read_text())["seeds"]
        for record in seeds:
            mine = per_user[per_user["seed"] == record["seed"]]
            assert mine["recall@20"].mean() == pytest.approx(record["test_recall@20"]), model
        assert (kedro_project / "data" / "06_models" / "tiny" / "compare" / model / "weights.pt").exists()

    client = MlflowClient(tracking_uri=f"sqlite:///{kedro_project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("siger_kedro")
    runs = client.search_runs([experiment.experiment_id])
    assert {r.info.status for r in runs} == {"FINISHED"}
    parent = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parent) == 1
    model_runs = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent[0].info.run_id]
    assert sorted(r.data.tags["compare_model"] for r in model_runs) == sorted(MODELS)
    for model_run in model_runs:
        children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == model_run.info.run_id]
        assert len(children) == 2 + 2  # two trials, two seeds
        assert "R_at_20_mean" in model_run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(parent[0].info.run_id, "reporting/compare")}
    assert {"reporting/compare/table.csv", "reporting/compare/table.md", "reporting/compare/chart.png",
            "reporting/compare/user_tests.csv"} <= artifacts


def test_model_selection_from_the_shell_trains_only_those_models(kedro_project):
    from siger_kedro.pipelines.compare.nodes import compile_report, selected_models

    assert selected_models({"models": "lightgcn siger"}) == selected_models({"models": "lightgcn+siger"}) \
        == selected_models({"models": ["lightgcn", "siger"]}) == ["lightgcn", "siger"]
    assert selected_models({"models": "all"}) == MODELS
    with pytest.raises(ValueError, match=r"compare.models names \['nope'\]; known models: lightgcn"):
        selected_models({"models": "lightgcn nope"})
    with pytest.raises(ValueError, match=r"compare.models selects \['siger'\], which have no results yet"):
        compile_report({"name": "tiny"}, {"models": ["siger"], "seeds": [1]}, results_of_siger=None)

    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    _cli(kedro_project, "compare.models=vbpr lightgcn", "compare.seeds=[1]", "compare.budget=1")
    out = kedro_project / "data" / "07_model_output" / "tiny" / "compare"
    assert sorted(p.name for p in out.iterdir()) == ["lightgcn", "vbpr"]
    table = pd.read_csv(kedro_project / "data" / "08_reporting" / "tiny" / "compare" / "table.csv")
    assert list(table["model"]) == ["vbpr", "lightgcn"]  # the selection's order, no improvement row


def test_an_interrupted_grid_resumes_at_its_trial_and_matches_an_uninterrupted_run(kedro_project, monkeypatch):
    import shutil

    from siger_kedro.metrics import Evaluator
    from siger_kedro.training import runs

    params = ["compare.models=lightgcn", "compare.seeds=[1]", "compare.budget=3"]
    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    original_evaluate, original_fit, calls, trained = Evaluator.evaluate, runs.fit, {"n": 0}, []

    def dies_in_trial_2(self, *args, **kwargs):  # trial 1: 4 epochs + its 2 scores; trial 2 dies in epoch 2
        calls["n"] += 1
        if calls["n"] == 8:
            raise RuntimeError("killed")
        return original_evaluate(self, *args, **kwargs)

    def counted_fit(model, users, items, sampler, validate, config, *args, **kwargs):
        trained.append(config.label)
        return original_fit(model, users, items, sampler, validate, config, *args, **kwargs)

    monkeypatch.setattr(runs, "fit", counted_fit)
    monkeypatch.setattr(Evaluator, "evaluate", dies_in_trial_2)
    with pytest.raises(RuntimeError, match="killed"):
        _cli(kedro_project, *params)
    assert trained == ["lightgcn trial 0", "lightgcn trial 1"]
    assert len(list((kedro_project / "data" / "06_models" / "tiny" / "runs").glob("*/checkpoint.pt"))) == 1

    monkeypatch.setattr(Evaluator, "evaluate", original_evaluate)
    trained.clear()
    _cli(kedro_project, *params)
    # the study asks again for the trial cut short (its training resumes); trial 0 is kept
    assert trained[0] == "lightgcn trial 2" and len(trained) == 2
    out = kedro_project / "data" / "07_model_output" / "tiny" / "compare" / "lightgcn"
    resumed = [json.loads((out / f).read_text()) for f in ("search.json", "results.json")]

    shutil.rmtree(kedro_project / "data" / "06_models")
    shutil.rmtree(kedro_project / "data" / "07_model_output")
    _cli(kedro_project, *params)  # uninterrupted, from scratch
    fresh = [json.loads((out / f).read_text()) for f in ("search.json", "results.json")]
    # the same settings tried with the same scores (trial numbers differ: the resumed study
    # counts the interrupted trial), the same choice and the same seeds
    drop = lambda r: {k: v for k, v in r.items() if k not in ("train_seconds", "trial")}  # noqa: E731
    settings = lambda search: sorted((json.dumps(drop(t), sort_keys=True) for t in search["trials"]))  # noqa: E731
    assert settings(resumed[0]) == settings(fresh[0])
    assert resumed[0]["best_hyperparameters"] == fresh[0]["best_hyperparameters"]
    assert [drop(r) for r in resumed[1]["seeds"]] == [drop(r) for r in fresh[1]["seeds"]]
