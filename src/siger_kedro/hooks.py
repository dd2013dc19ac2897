"""MLflow tracking that kedro-mlflow leaves to the project.

kedro-mlflow opens the run, logs every parameter, logs artifact datasets and marks a failing
run FAILED. This hook adds: the git commit, the process's pid and host, the dataset's name and
fingerprint as tags, the per-epoch numbers that training emits as log records (live, while
training runs), and the final metrics; and it marks KILLED the runs that killed processes
left RUNNING (run_status.py).
"""
from __future__ import annotations

import logging
import operator
import sqlite3
import subprocess
import urllib.request
from functools import reduce
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines

from .cache import KeyStore, node_keys, output_path
from .reporting.mlflow_names import mlflow_metrics
from .run_status import mark_killed_runs, process_tags

DATASET_INFO = "int_dataset_info"
FINAL_METRICS = "train.metrics"  # the train pipeline model's valid_* and test_* scores
PACKAGE_LOGGER = "siger_kedro"


def git_commit(path: str | Path) -> str:
    """HEAD's sha, with '-dirty' when tracked files have uncommitted changes."""
    try:
        run = lambda *a: subprocess.run(  # noqa: E731
            ["git", *a], cwd=path, capture_output=True, text=True, check=True
        ).stdout.strip()
        sha = run("rev-parse", "HEAD")
        return sha + ("-dirty" if run("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cache_store(project_path: str | Path) -> KeyStore:
    """The stage cache's key store: which node key wrote each output file."""
    return KeyStore(Path(project_path) / "data" / ".cache_keys.json")


class TrackingStoreError(RuntimeError):
    """The MLflow tracking store cannot be used."""


def check_tracking_store(uri: str, timeout: float = 5.0) -> None:
    """Fail fast, before any node runs, when the MLflow store is locked or unreachable, instead
    of deep inside MLflow (a locked SQLite file, an HTTP server that retries for minutes)."""
    advice = ("Wait for the other run, point server.mlflow_tracking_uri in conf/local/mlflow.yml "
              "at another store, or list the pipeline under tracking.disable_tracking.pipelines.")
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(path, timeout=timeout) as db:
                db.execute("BEGIN IMMEDIATE")  # takes the write lock MLflow will need
                db.rollback()
        except (OSError, sqlite3.Error) as exc:
            raise TrackingStoreError(f"MLflow store {uri} cannot be written ({exc}). {advice}") from exc
    elif uri.startswith(("http://", "https://")):
        try:
            urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout)
        except OSError as exc:
            raise TrackingStoreError(f"MLflow server {uri} is unreachable ({exc}). {advice}") from exc


class _EpochMetricsHandler(logging.Handler):
    """Forwards log records that carry `metrics` (and `step`) or `tags` to the active MLflow run."""

    def emit(self, record: logging.LogRecord) -> None:
        if mlflow.active_run() is None:
            return
        metrics, tags = getattr(record, "metrics", None), getattr(record, "tags", None)
        if metrics:
            mlflow.log_metrics(mlflow_metrics(metrics), step=getattr(record, "step", None))
        if tags:
            mlflow.set_tags(tags)


class RunTrackingHooks:
    def __init__(self) -> None:
        self._handler = _EpochMetricsHandler(level=logging.INFO)
        self._project_path: str | None = None
        self._keys: dict[str, str] = {}
        self._catalog = None

    @hook_impl(tryfirst=True)  # before kedro-mlflow opens the store
    def after_context_created(self, context) -> None:
        self._project_path = str(context.project_path)
        context.config_loader.config_patterns.setdefault("mlflow", ["mlflow*", "mlflow*/**", "**/mlflow*"])
        uri = (context.config_loader["mlflow"].get("server") or {}).get("mlflow_tracking_uri")
        if uri:
            check_tracking_store(uri)

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        logger = logging.getLogger(PACKAGE_LOGGER)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
        logger.addHandler(self._handler)
        # Keys over the whole registered pipeline: a node's key depends on its upstream nodes
        # even when only part of the pipeline runs.
        names = run_params.get("pipeline_names") or ["__default__"]
        full = reduce(operator.add, (pipelines[n] for n in names), pipeline)
        self._keys, self._catalog = node_keys(full.nodes, catalog), catalog
        if (run := mlflow.active_run()) is not None:
            mlflow.set_tags({**process_tags(), "git_commit": git_commit(self._project_path or run_params["project_path"])})
            mark_killed_runs(mlflow.MlflowClient(), run.info.experiment_id, run.info.run_id)
            ran = {n.name for n in pipeline.nodes}
            mlflow.set_tags({f"cache_key.{name}": key[:16] for name, key in self._keys.items()})
            mlflow.set_tag("cache_hits", ",".join(sorted(set(self._keys) - ran)) or "none")

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data: Any) -> None:
        if dataset_name == DATASET_INFO:
            self._tag_dataset(data)

    @hook_impl
    def after_node_run(self, node, outputs: dict[str, Any]) -> None:
        key = self._keys.get(node.name)
        paths = [output_path(self._catalog[o]) for o in node.outputs] if key else []
        if paths and all(p is not None for p in paths):
            cache_store(self._project_path).record(paths, key)
        if DATASET_INFO in outputs:
            self._tag_dataset(outputs[DATASET_INFO])
        if FINAL_METRICS in outputs and mlflow.active_run() is not None:
            mlflow.log_metrics(mlflow_metrics(outputs[FINAL_METRICS]))

    @hook_impl
    def after_pipeline_run(self) -> None:
        logging.getLogger(PACKAGE_LOGGER).removeHandler(self._handler)

    @hook_impl
    def on_pipeline_error(self) -> None:
        logging.getLogger(PACKAGE_LOGGER).removeHandler(self._handler)

    @staticmethod
    def _tag_dataset(info: dict) -> None:
        if mlflow.active_run() is not None:
            mlflow.set_tags({"dataset": info["name"], "dataset_fingerprint": info["fingerprint"]})
