"""Servers a test starts (mlflow models serve, mlflow server): on 127.0.0.1, each in its own
process group so that its workers stop with it, waited for with a bound, always stopped."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project_env(project: Path) -> dict:
    """The project's MLflow store, and the venv's bin first on PATH: mlflow starts `uvicorn` by
    name, as it finds it after `source .venv/bin/activate`."""
    path = f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}"}


@contextmanager
def running(args: list[str], project: Path, ready_path: str, port: int, start_timeout: float = 180):
    """`python -m <args>` serving on `port`, yielded as its base URL once `ready_path` answers."""
    log_path = project / f"server-{port}.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", *args], cwd=project, env=project_env(project), stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{url}{ready_path}", timeout=5):
                        break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"{' '.join(args[:3])} did not start: {log_path.read_text()[-2000:]}")
                    time.sleep(1)
            yield url
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
