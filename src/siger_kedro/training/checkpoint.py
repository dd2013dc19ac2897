"""Per-epoch training checkpoints, so that an interrupted run resumes where it stopped.

A checkpoint holds everything the next epoch depends on: weights, optimizer moments, the
best-so-far bookkeeping and the random number generators' states. Restoring all of them makes
a resumed run on the CPU identical to an uninterrupted one. A checkpoint is only resumed by a
run with the same `run_key` (data, graphs and settings); anything else starts afresh.

Checkpoints are data, never code: everything in one is a tensor or a plain value (the numpy
generator's state is kept as a tensor), and it is loaded with `torch.load(weights_only=True)`,
which refuses any other object instead of running it (docs/security.md).
"""
from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..storage import UntrustedFile, atomic_path, load_tensors

logger = logging.getLogger(__name__)


def rng_state() -> dict[str, Any]:
    numpy = np.random.get_state(legacy=False)
    state = {
        "python": random.getstate(),  # (version, tuple of ints, None): plain values
        "numpy": {**numpy, "state": {"key": torch.from_numpy(numpy["state"]["key"].astype(np.int64)),
                                     "pos": int(numpy["state"]["pos"])}},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    numpy = state["numpy"]
    np.random.set_state({**numpy, "state": {"key": numpy["state"]["key"].numpy().astype(np.uint32),
                                            "pos": numpy["state"]["pos"]}})
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Checkpointer:
    """Saves and restores one run's checkpoint at `path` (written atomically: a crash while
    saving keeps the previous epoch's checkpoint)."""

    def __init__(self, path: str | Path, run_key: str = ""):
        self.path, self.run_key = Path(path), run_key

    def for_run(self, run_key: str) -> "Checkpointer":
        return Checkpointer(self.path, run_key)

    def load(self) -> dict[str, Any] | None:
        if not self.path.is_file():
            return None
        try:
            state = load_tensors(self.path, str(self.path))
        except UntrustedFile:
            raise
        except Exception as exc:  # a damaged checkpoint costs a fresh start, not the run
            logger.warning("%s: unreadable checkpoint (%s); training starts afresh", self.path, exc)
            return None
        if not isinstance(state, dict) or state.get("run_key") != self.run_key:
            logger.info("%s: checkpoint of other data or settings; training starts afresh", self.path)
            return None
        return state

    def save(self, state: dict[str, Any]) -> None:
        with atomic_path(self.path) as tmp:
            torch.save({**state, "run_key": self.run_key}, tmp)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
