"""One run per dataset at a time: a lock file per dataset under data/.locks/, held with
flock, so that two `kedro run`s never interleave their outputs (docs/security.md).

The kernel releases a flock when its process ends, however it ends (kill -9 included), so a
lock left by a dead process is free again: it never has to be removed by hand. The file keeps
the holder's pid and host for the message the next run gets."""
from __future__ import annotations

import fcntl
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

POLL_SECONDS = 0.2


class DatasetLocked(RuntimeError):
    """Another process is running on the same dataset."""


def lock_path(data_dir: str | Path, dataset: str) -> Path:
    return Path(data_dir) / ".locks" / f"{dataset}.lock"


@contextmanager
def dataset_lock(data_dir: str | Path, dataset: str, timeout: float = 0.0) -> Iterator[Path]:
    """Hold the lock of `dataset` (a checked folder name) for the block, waiting up to
    `timeout` seconds for another holder to finish; then `DatasetLocked` names that holder."""
    path = lock_path(data_dir, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise DatasetLocked(
                    f"dataset '{dataset}' is in use by another run ({_holder(path)}, lock {path}); "
                    f"waited {timeout:g} s. Wait for it to finish, or pass --lock-timeout SECONDS to wait longer."
                )
            time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        yield path
    finally:
        os.close(fd)  # releases the flock, if held


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _holder(path: Path) -> str:
    """'pid N on host H' as the holder wrote it (empty for a moment after it took the lock)."""
    try:
        pid, host = path.read_text().split()
        return f"pid {pid} on {host}"
    except (OSError, ValueError):
        return "pid unknown"
