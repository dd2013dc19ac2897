"""MLflow runs of the compare pipeline: one run per model under the Kedro run, and one nested
run per search trial and per seed under the model's run. Without an active run (a plain
session with kedro-mlflow off), nothing is logged."""
from __future__ import annotations

from contextlib import contextmanager

import mlflow
import optuna

from ...reporting.mlflow_names import mlflow_metrics

MODEL_TAG = "compare_model"


def _flat(params: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for k, v in params.items():
        if isinstance(v, dict):
            flat |= _flat(v, f"{prefix}{k}.")
        else:
            flat[f"{prefix}{k}"] = str(v)
    return flat


@contextmanager
def model_run(model: str):
    """The model's run under the active (pipeline) run: created by its first node, reopened
    by the next, so that trials and seeds of one model sit together."""
    parent = mlflow.active_run()
    if parent is None:
        yield None
        return
    found = mlflow.search_runs(
        [parent.info.experiment_id], output_format="list",
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}' and tags.{MODEL_TAG} = '{model}'",
    )
    if found:
        run = mlflow.start_run(run_id=found[0].info.run_id, nested=True)
    else:
        run = mlflow.start_run(run_name=model, nested=True, tags={MODEL_TAG: model})
    status = "FAILED"
    try:
        yield run
        status = "FINISHED"
    finally:
        mlflow.end_run(status)


@contextmanager
def child_run(name: str, params: dict, tags: dict[str, str]):
    """A nested run under the model's run holding one training's parameters; its epochs are
    logged there live by the project hook. A trial the search prunes ends KILLED, tagged
    `pruned` with the reason."""
    if mlflow.active_run() is None:
        yield None
        return
    run = mlflow.start_run(run_name=name, nested=True, tags=tags)
    mlflow.log_params(_flat(params))
    status = "FAILED"
    try:
        yield run
        status = "FINISHED"
    except optuna.TrialPruned as pruned:
        mlflow.set_tag("pruned", str(pruned))
        status = "KILLED"
        raise
    finally:
        mlflow.end_run(status)


def log_metrics(metrics: dict[str, float]) -> None:
    if mlflow.active_run() is not None:
        mlflow.log_metrics(mlflow_metrics(metrics))


def set_tags(tags: dict[str, str]) -> None:
    if mlflow.active_run() is not None:
        mlflow.set_tags(tags)


def log_history(history: list[dict]) -> None:
    """A reused run's epochs, logged after the fact as `epoch/*` metrics with their step."""
    if mlflow.active_run() is None:
        return
    for record in history:
        mlflow.log_metrics(mlflow_metrics({f"epoch/{k}": v for k, v in record.items() if k != "epoch"}),
                           step=int(record["epoch"]))
