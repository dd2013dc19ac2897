"""Resident-memory readings from the kernel (Linux /proc; getrusage elsewhere). No torch here:
the graph-scaling workers import this and must start fast and small."""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def current_rss_mb() -> float | None:
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """Peak RSS of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 1024)


def reset_peak() -> bool:
    """Restart VmHWM at the current RSS (Linux >= 4.0, writing 5 to clear_refs); False where
    the kernel refuses, in which case the peak also covers what ran before."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def hwm_mb() -> float:
    hwm = _status_mb("VmHWM")
    return hwm if hwm is not None else peak_rss_mb()


def timed_with_peak(fn):
    """(fn(), seconds, {"peak_rss_mb", "peak_rss_growth_mb", "peak_is_build_only"}): the peak
    covers fn alone where the kernel lets us reset it (`reset_peak`), else the whole process."""
    before = current_rss_mb() or hwm_mb()
    build_only = reset_peak()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    peak = hwm_mb()
    return result, seconds, {"peak_rss_mb": peak, "peak_rss_growth_mb": max(peak - before, 0.0),
                             "peak_is_build_only": build_only}


def run_worker(module: str, args: list[str], timeout: float) -> dict:
    """`python -m module *args` in a fresh process (so that its peak RSS is its own build's),
    and the JSON object on the last line it prints."""
    run = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=timeout)
    if run.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])
