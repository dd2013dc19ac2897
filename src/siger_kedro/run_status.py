"""MLflow run status that tells the truth: a run whose process was killed (kill -9 leaves it
RUNNING) is marked KILLED by the next run, and a run that failed says why, even when the error
came before kedro-mlflow opened the run (docs/security.md).

Each run is tagged with the pid and host of the process that runs it; only runs of this host
can be checked, and a run whose pid is alive again (reused by another process) stays RUNNING."""
from __future__ import annotations

import logging
import os
import socket
import time

import mlflow
from mlflow import MlflowClient

PID_TAG, HOST_TAG, ERROR_TAG = "process.pid", "process.host", "error"
PARENT_TAG = "mlflow.parentRunId"
MAX_TAG_CHARS = 5000  # MLflow's limit on a tag value

logger = logging.getLogger(__name__)


def process_tags() -> dict[str, str]:
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _process_gone(tags: dict[str, str]) -> bool:
    pid = tags.get(PID_TAG, "")
    return tags.get(HOST_TAG) == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid))


def mark_killed_runs(client: MlflowClient, experiment_id: str, current_run_id: str | None = None) -> list[str]:
    """Mark KILLED the runs of the experiment still RUNNING whose process on this host is gone,
    and the nested runs they opened; returns their ids."""
    running = [r for r in client.search_runs([experiment_id], "attributes.status = 'RUNNING'", max_results=10000)
               if r.info.run_id != current_run_id]
    killed = {r.info.run_id: r.data.tags[PID_TAG] for r in running if _process_gone(r.data.tags)}
    while nested := {r.info.run_id: killed[r.data.tags[PARENT_TAG]] for r in running
                     if r.data.tags.get(PARENT_TAG) in killed and r.info.run_id not in killed}:
        killed.update(nested)  # nested runs (compare, ablations) have no pid tag of their own
    for run_id, pid in killed.items():
        client.set_tag(run_id, ERROR_TAG, f"process {pid} ended without closing the run (killed?); "
                                          "marked KILLED by the next run")
        client.set_terminated(run_id, "KILLED")
        logger.warning("MLflow run %s was left RUNNING by process %s, which is gone: marked KILLED", run_id, pid)
    return list(killed)


def record_failure(tracking_uri: str, experiment_name: str, run_name: str, error: BaseException,
                   since: float) -> str:
    """Make the failed run of this process say why: the run it opened since `since` (a
    time.time()) gets the error as a tag (and FAILED if still open); when it opened none, the
    error came before the run started, and a FAILED run holding the error is created.
    Returns the run's id."""
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(experiment_name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(experiment_name)
    tags = process_tags()
    mine = client.search_runs(
        [experiment_id], f"tags.`{PID_TAG}` = '{tags[PID_TAG]}' and tags.`{HOST_TAG}` = '{tags[HOST_TAG]}' "
        f"and attributes.start_time >= {int(since * 1000)}", order_by=["attributes.start_time DESC"], max_results=1)
    message = f"{type(error).__name__}: {error}"[:MAX_TAG_CHARS]
    if mine:
        run_id = mine[0].info.run_id
        client.set_tag(run_id, ERROR_TAG, message)
    else:
        run_id = client.create_run(experiment_id, start_time=int(time.time() * 1000), run_name=run_name,
                                   tags={**tags, ERROR_TAG: message, "failed_before_run": "true"}).info.run_id
    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:  # a hook failed after the run opened
        mlflow.end_run("FAILED")
    elif not mine or mine[0].info.status != "FAILED":
        client.set_terminated(run_id, "FAILED")
    return run_id
