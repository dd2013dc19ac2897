"""Two runs on one dataset never interleave their outputs: the second `kedro run` is refused at
once, naming the dataset and the process that holds it; a lock left by a killed process is free."""
from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient

from datagen import write_mmrec
from siger_kedro.locks import DatasetLocked, dataset_lock, lock_path

HOLD = """
import sys, time
from siger_kedro.locks import dataset_lock
with dataset_lock(sys.argv[1], sys.argv[2]):
    print("locked", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path):
    """A separate process holding a dataset's lock until the test kills it: start(data_dir, dataset)."""
    started = []

    def start(data_dir, dataset):
        process = subprocess.Popen([sys.executable, "-c", HOLD, str(data_dir), dataset],
                                   stdout=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout.readline() == "locked\n"
        return process

    yield start
    for process in started:
        process.kill()
        process.wait()


def _checksums(folder):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_second_kedro_run_on_a_locked_dataset_fails_fast_and_writes_nothing(kedro_project, holder):
    write_mmrec(kedro_project / "data" / "01_raw" / "mini")
    other = holder(kedro_project / "data", "mini")
    before = _checksums(kedro_project / "data")
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1", "COLUMNS": "400"}
    second = subprocess.run([sys.executable, "-m", "kedro", "run", "--pipeline", "ingest", "--env", "test",
                             "--params", "dataset=mini"], cwd=kedro_project, env=env, capture_output=True,
                            text=True, timeout=300)
    assert second.returncode != 0
    lock = kedro_project / "data" / ".locks" / "mini.lock"
    assert (f"dataset 'mini' is in use by another run (pid {other.pid} on {socket.gethostname()}, lock {lock}); "
            "waited 0 s. Wait for it to finish, or pass --lock-timeout SECONDS to wait longer.") in second.stderr
    assert _checksums(kedro_project / "data") == before  # no output, and the holder's lock file kept
    assert other.poll() is None  # the first run is undisturbed
    client = MlflowClient(f"sqlite:///{kedro_project / 'mlflow.db'}")
    [failed] = client.search_runs([client.get_experiment_by_name("siger_kedro").experiment_id])
    assert failed.info.status == "FAILED" and "DatasetLocked: dataset 'mini' is in use" in failed.data.tags["error"]


def test_a_lock_waits_its_timeout_and_a_killed_holders_lock_is_free(tmp_path, holder):
    other = holder(tmp_path, "mini")
    with dataset_lock(tmp_path, "other-dataset"):  # another dataset is not blocked
        pass
    start = time.monotonic()
    with pytest.raises(DatasetLocked, match=rf"pid {other.pid} on .*; waited 0.5 s"):
        with dataset_lock(tmp_path, "mini", timeout=0.5):
            pass
    assert time.monotonic() - start >= 0.5
    other.send_signal(signal.SIGKILL)
    other.wait()
    with dataset_lock(tmp_path, "mini") as path:  # no stale lock to remove by hand
        assert path == lock_path(tmp_path, "mini")
        assert path.read_text() == f"{os.getpid()} {socket.gethostname()}\n"
