"""Files are data, never code: a planted pickle is refused with a clear error and never runs."""
from __future__ import annotations

import pathlib

import pytest
import torch

from siger_kedro.pipelines.datasets import TorchStateDataset
from siger_kedro.storage import UntrustedFile
from siger_kedro.training.checkpoint import Checkpointer
from siger_kedro.training.runs import RunStore


class Payload:
    """Unpickling this calls Path.touch(marker): what an attacker's code would do."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def _plant(path: pathlib.Path, marker: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": {"w": torch.zeros(2)}, "run_key": "k", "evil": Payload(marker)}, path)


def test_a_planted_checkpoint_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    _plant(tmp_path / "ckpt.pt", marker)
    with pytest.raises(UntrustedFile, match=r"ckpt.pt holds objects other than tensors and plain values "
                                            r"\(it names [\w.]+\), which could run code when loaded: refused"):
        Checkpointer(tmp_path / "ckpt.pt", "k").load()
    assert not marker.exists()


def test_planted_weights_and_finished_runs_are_refused(tmp_path):
    marker = tmp_path / "pwned"
    _plant(tmp_path / "weights.pt", marker)
    with pytest.raises(Exception, match="weights.pt holds objects"):  # Kedro wraps it in a DatasetError
        TorchStateDataset(str(tmp_path / "weights.pt")).load()
    run = tmp_path / "runs" / "abc"
    _plant(run / "weights.pt", marker)
    (run / "result.json").write_text('{"history": [], "best_epoch": 1, "scores": {}}')
    with pytest.raises(UntrustedFile):
        RunStore(tmp_path / "runs").load("abc")
    assert not marker.exists()


def test_a_checkpoint_of_this_project_still_round_trips(tmp_path):
    from siger_kedro.training.checkpoint import rng_state, set_rng_state

    ckpt = Checkpointer(tmp_path / "c.pt", "k")
    ckpt.save({"epoch": 3, "model": {"w": torch.ones(2)}, "rng": rng_state(), "result": {"history": [{"a": 1.0}]}})
    import numpy as np
    import random
    expected = (random.random(), np.random.rand(), torch.rand(1))
    state = ckpt.load()
    set_rng_state(state["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1)) == expected and state["epoch"] == 3
