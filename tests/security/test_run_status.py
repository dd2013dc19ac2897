"""MLflow run status tells the truth: a run left RUNNING by a killed process is marked KILLED by
the next run, and a run that fails says why, even when it fails before its MLflow run opens."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap

from click.testing import CliRunner
from kedro.framework.startup import bootstrap_project
from mlflow import MlflowClient

from datagen import write_mmrec
from siger_kedro.cli import run
from siger_kedro.run_status import ERROR_TAG, HOST_TAG, PARENT_TAG, PID_TAG, mark_killed_runs


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_running_runs_of_gone_processes_are_marked_killed_and_no_others(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("siger_kedro")
    here, dead = socket.gethostname(), str(_dead_pid())

    def new_run(pid: str, host: str = here, **tags) -> str:
        return client.create_run(experiment, tags={PID_TAG: pid, HOST_TAG: host, **tags}).info.run_id

    killed = new_run(dead)
    nested = client.create_run(experiment, tags={PARENT_TAG: killed}).info.run_id
    alive, elsewhere, untagged = new_run(str(os.getpid())), new_run(dead, host="another-host"), \
        client.create_run(experiment).info.run_id
    finished = new_run(dead)
    client.set_terminated(finished, "FINISHED")

    assert sorted(mark_killed_runs(client, experiment)) == sorted([killed, nested])
    status = {r: client.get_run(r).info.status for r in (killed, nested, alive, elsewhere, untagged, finished)}
    assert status == {killed: "KILLED", nested: "KILLED", alive: "RUNNING", elsewhere: "RUNNING",
                      untagged: "RUNNING", finished: "FINISHED"}
    assert client.get_run(killed).data.tags[ERROR_TAG] == \
        f"process {dead} ended without closing the run (killed?); marked KILLED by the next run"
    assert mark_killed_runs(client, experiment) == []  # nothing left to mark


def _invoke(*params: str, pipeline: str = "ingest"):
    return CliRunner().invoke(run, ["--pipeline", pipeline, "--env", "test", "--params", ",".join(params)])


def _runs(project):
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("siger_kedro")
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"]) if experiment else []


def test_a_run_killed_with_kill_9_is_marked_killed_by_the_next_run(kedro_project):
    write_mmrec(kedro_project / "data" / "01_raw" / "mini")
    bootstrap_project(kedro_project)
    # A process that opens the project's run the way a `kedro run` does, then dies by SIGKILL.
    script = textwrap.dedent(f"""
        import os, signal, mlflow
        from siger_kedro.run_status import process_tags
        mlflow.set_tracking_uri("sqlite:///{kedro_project / 'mlflow.db'}")
        mlflow.set_experiment("siger_kedro")
        mlflow.start_run(run_name="ingest", tags=process_tags())
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    victim = subprocess.Popen([sys.executable, "-c", script])
    assert victim.wait(timeout=120) == -signal.SIGKILL
    [left] = _runs(kedro_project)
    assert left.info.status == "RUNNING"

    assert _invoke("dataset=mini").exit_code == 0
    before, after = _runs(kedro_project)
    assert before.info.status == "KILLED" and after.info.status == "FINISHED"
    assert before.data.tags[PID_TAG] == str(victim.pid)
    assert before.data.tags[ERROR_TAG] == \
        f"process {victim.pid} ended without closing the run (killed?); marked KILLED by the next run"
    assert after.data.tags[PID_TAG] == str(os.getpid()) and after.data.tags[HOST_TAG] == socket.gethostname()


def test_a_run_that_fails_says_why_before_and_after_its_mlflow_run_opens(kedro_project):
    raw = write_mmrec(kedro_project / "data" / "01_raw" / "mini")
    bootstrap_project(kedro_project)
    result = _invoke("dataset=mini", "ingest.split_seed=ten")  # refused by the schema: no node runs
    assert result.exit_code != 0 and "ingest.split_seed: 'ten' is not allowed" in str(result.exception)
    [early] = _runs(kedro_project)
    assert early.info.status == "FAILED" and early.data.tags["failed_before_run"] == "true"
    assert early.data.tags[ERROR_TAG].startswith("ParameterError: bad parameters (nothing has run):")
    assert "ingest.split_seed: 'ten' is not allowed" in early.data.tags[ERROR_TAG]
    assert early.data.tags[PID_TAG] == str(os.getpid()) and early.info.run_name == "ingest"
    assert not (kedro_project / "data" / "02_intermediate").exists()

    (raw / "mini.inter").write_text((raw / "mini.inter").read_text().replace("\t", ","))  # fails in a node
    assert _invoke("dataset=mini").exit_code != 0
    _, failed = _runs(kedro_project)
    assert failed.info.status == "FAILED" and "failed_before_run" not in failed.data.tags
    assert "is comma-separated, not tab-separated" in failed.data.tags[ERROR_TAG]
