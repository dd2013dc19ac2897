"""`kedro run --pipeline sensitivity` in the test environment (conf/test: K_c in {2, 3} and
β in {0.3, 0.6}, one seed), as a user types it: parameter selection, graphs rebuilt only where
a parameter changes them, the report and the MLflow runs."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from mlflow.tracking import MlflowClient

from datagen import write_atomic
from projects import run_cli
from siger_kedro.data.split import TRAIN
from siger_kedro.parameters import ParameterError, SensitivityGrids, check_parameters
from siger_kedro.pipelines.sensitivity.nodes import (
    PARAMETERS,
    compile_sensitivity_report,
    selected_parameters,
    value_graphs,
)


def _cli(project, *params: str):
    run_cli(project, "sensitivity", *params)


def test_sensitivity_sweeps_the_selected_parameters_and_reports_them(kedro_project):
    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    _cli(kedro_project)

    report = kedro_project / "data" / "08_reporting" / "tiny" / "sensitivity"
    table = pd.read_csv(report / "table.csv")
    assert list(zip(table["parameter"], table["value"])) == [("cooccurrence_k", 2), ("cooccurrence_k", 3),
                                                             ("beta", 0.3), ("beta", 0.6)]
    assert (table["seeds"] == 1).all() and table.groupby("parameter")["best"].sum().eq(1).all()
    assert list(table["default"]) == [False, True, True, False]  # conf/test's graphs: K_c 3, β 0.3
    for column in ("valid R@20 mean", "valid N@20 mean", "test R@20 mean", "test N@20 mean"):
        assert table[column].between(0, 1).all()
    markdown = (report / "table.md").read_text()
    rows = [line.split(" | ")[:2] for line in markdown.splitlines() if line.startswith(("| K_c", "| β"))]
    assert [(name, value.strip("*").replace(", best", "").replace(" (best)", "")) for name, value in rows] == [
        ("| K_c", "2"), ("| K_c", "3 (default)"), ("| β", "0.3 (default)"), ("| β", "0.6")]
    assert sum("best)" in value for _, value in rows) == 2 and "best value on validation R@20" in markdown
    assert (report / "figure.png").stat().st_size > 0

    out = kedro_project / "data" / "07_model_output" / "tiny" / "sensitivity"
    assert sorted(p.name for p in out.iterdir()) == ["beta", "cooccurrence_k"]  # only the selected ones
    k, beta = (json.loads((out / p / "results.json").read_text())["values"] for p in ("cooccurrence_k", "beta"))
    # K_c builds its own co-occurrence graph; β keeps the stored one and mixes the EISG again
    assert k[0]["cooccurrence_edges"] < k[1]["cooccurrence_edges"] == beta[0]["cooccurrence_edges"] \
        == beta[1]["cooccurrence_edges"]
    assert len({v["experiment_digest"] for v in k + beta}) == 3
    assert k[1]["experiment_digest"] == beta[0]["experiment_digest"]  # both are SIGER's own setting...
    runs = list((kedro_project / "data" / "06_models" / "tiny" / "runs").iterdir())
    assert len(runs) == 3  # ...trained once, reused by the other sweep

    client = MlflowClient(tracking_uri=f"sqlite:///{kedro_project / 'mlflow.db'}")
    found = client.search_runs([client.get_experiment_by_name("siger_kedro").experiment_id])
    parent = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    assert len(parent) == 1 and parent[0].info.status == "FINISHED"
    values = [r for r in found if r.data.tags.get("mlflow.parentRunId") == parent[0].info.run_id]
    assert sorted(r.data.tags["mlflow.runName"] for r in values) == [
        "beta=0.3", "beta=0.6", "cooccurrence_k=2", "cooccurrence_k=3"]
    for value in values:
        assert len([r for r in found if r.data.tags.get("mlflow.parentRunId") == value.info.run_id]) == 1
        assert 0 <= value.data.metrics["valid_R_at_20_mean"] <= 1
        assert "=".join(value.data.tags[f"sensitivity_{t}"] for t in ("parameter", "value")) == value.info.run_name

    # another β grid: the β sweep runs again; graphs, features and the K_c sweep stay cached
    graphs = kedro_project / "data" / "05_model_input" / "tiny"
    before = {p: p.stat().st_mtime_ns for p in [*graphs.rglob("*.npz"), out / "cooccurrence_k" / "results.json"]}
    beta_before = (out / "beta" / "results.json").stat().st_mtime_ns
    _cli(kedro_project, "sensitivity.grids.beta=[0.5]")  # (--params splits on commas: one value)
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert (out / "beta" / "results.json").stat().st_mtime_ns != beta_before
    table = pd.read_csv(report / "table.csv")
    assert list(table.loc[table["parameter"] == "beta", "value"]) == [0.5]


def test_graph_parameters_rebuild_only_what_they_change():
    interactions = pd.DataFrame({"user": [0, 0, 0, 1, 1, 2, 2, 2], "item": [0, 1, 2, 0, 1, 1, 2, 3],
                                 "split": TRAIN})
    info = {"n_users": 3, "n_items": 4}
    knn = {"text": sp.csr_matrix(np.eye(4, dtype=np.float32) + 0.5 * np.eye(4, k=1, dtype=np.float32))}
    stored_cooc = sp.csr_matrix((4, 4), dtype=np.float32)
    eisg = {"text": sp.csr_matrix(np.eye(4, dtype=np.float32))}
    graphs = {"cooccurrence_k": 3, "beta": 0.3}
    args = (interactions, info, stored_cooc, knn, eisg, graphs)

    one, mixed = value_graphs("cooccurrence_k", 1, *args)
    two, _ = value_graphs("cooccurrence_k", 2, *args)
    assert np.diff(one.indptr).max() == 1 and two.nnz > one.nnz  # the top-1 vs top-2 co-occurring items
    assert mixed["text"].nnz > knn["text"].nnz  # the EISG mixes the new graph in
    cooc, mixed = value_graphs("beta", 0.6, *args)
    assert cooc is stored_cooc and mixed["text"].nnz == knn["text"].nnz  # the stored graphs, mixed again
    cooc, mixed = value_graphs("ii_layers", 3, *args)
    assert cooc is stored_cooc and mixed is eisg


def test_bad_sensitivity_parameters_are_named():
    assert set(SensitivityGrids.model_fields) == set(PARAMETERS)  # a grid per swept parameter
    assert selected_parameters({"parameters": "cooccurrence_k+beta"}) == ["cooccurrence_k", "beta"]
    assert selected_parameters({"parameters": "all"}) == list(PARAMETERS)
    grids = {p: [1] for p in PARAMETERS}
    good = {"parameters": "all", "seeds": [1], "grids": grids}
    check_parameters({"sensitivity": good})
    with pytest.raises(ParameterError, match=r"sensitivity.parameters names \['layers'\]; known parameters: "
                                             r"cooccurrence_k, ii_layers"):
        check_parameters({"sensitivity": {**good, "parameters": "cooccurrence_k layers"}})
    with pytest.raises(ParameterError, match=r"sensitivity.grids.tau_mm: unknown parameter"):
        check_parameters({"sensitivity": {**good, "grids": {**grids, "tau_mm": [0.1]}}})
    with pytest.raises(ParameterError, match=r"sensitivity.grids.cooccurrence_k.1: 'many' is not allowed"):
        check_parameters({"sensitivity": {**good, "grids": {**grids, "cooccurrence_k": [2, "many"]}}})
    with pytest.raises(ParameterError, match=r"sensitivity.grids.beta.0: 1.5 is not allowed"):
        check_parameters({"sensitivity": {**good, "grids": {**grids, "beta": [1.5]}}})
    with pytest.raises(ValueError, match=r"sensitivity.parameters selects \['beta'\], which have no results yet"):
        compile_sensitivity_report({"name": "tiny"}, {"parameters": "beta", "seeds": [1]}, results_of_beta=None)
