"""The epoch-split benchmark times each phase of a real training epoch, per model."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from siger_kedro.bench.epoch_split import PHASES, compare_epochs, table
from siger_kedro.training.experiment import Experiment

sys.path.insert(0, str(Path(__file__).parents[1] / "models"))
from tiny import tiny_inputs  # noqa: E402


def test_every_phase_of_each_models_epoch_is_timed():
    inputs = tiny_inputs()
    empty = sp.csr_matrix(inputs.train.shape)
    report = compare_epochs(Experiment(inputs, empty, empty), ["lightgcn", "freedom"], torch.device("cpu"), rounds=2)
    assert list(report) == ["lightgcn", "freedom"] and report["lightgcn"]["ratio_to_first"] == 1.0
    for phases in report.values():
        assert all(phases[p] >= 0 for p in PHASES) and phases["forward_losses"] > 0 and phases["backward"] > 0
    freedom = report["freedom"]
    assert freedom["graph_rebuild"] > 0  # FREEDOM prunes its graph at each epoch's start
    assert np.isfinite(freedom["ratio_to_first"]) and "freedom" in table(report)
