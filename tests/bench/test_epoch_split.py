"""The epoch-split benchmark times each phase of a real training epoch, per model."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from siger_kedro.bench.epoch_split import PHASES, compare_epochs, feature_floor, model_spec, table
from siger_kedro.models.registry import create_model
from siger_kedro.training.experiment import Experiment

sys.path.insert(0, str(Path(__file__).parents[1] / "models"))
from tiny import tiny_inputs  # noqa: E402


def test_every_phase_of_each_models_epoch_is_timed():
    inputs = tiny_inputs()
    empty = sp.csr_matrix(inputs.train.shape)
    models = ["lightgcn", "freedom", "freedom:reg_weight=0"]
    report = compare_epochs(Experiment(inputs, empty, empty), models, torch.device("cpu"), rounds=2)
    assert list(report) == models and report["lightgcn"]["ratio_to_first"] == 1.0
    for phases in report.values():
        assert all(phases[p] >= 0 for p in PHASES) and phases["forward_losses"] > 0 and phases["backward"] > 0
    freedom = report["freedom"]
    assert freedom["graph_rebuild"] > 0  # FREEDOM prunes its graph at each epoch's start
    assert np.isfinite(freedom["ratio_to_first"]) and "freedom" in table(report)
    # the floor of FREEDOM's modality terms is part of its epoch; LightGCN has no such terms
    assert 0 < freedom["feature_floor"] < freedom["epoch"] and "feature_floor" not in report["lightgcn"]
    assert "feature_floor" not in report["freedom:reg_weight=0"]  # no modal terms to floor


def test_a_spec_with_overrides_may_come_first_and_only_freedom_gets_a_feature_floor():
    inputs = tiny_inputs()
    empty = sp.csr_matrix(inputs.train.shape)
    models = ["freedom:reg_weight=0", "bm3"]  # bm3 also projects fine-tuned features, with other terms
    report = compare_epochs(Experiment(inputs, empty, empty), models, torch.device("cpu"), rounds=1)
    assert list(report) == models and all("feature_floor" not in r for r in report.values())


def test_model_spec_reads_overrides():
    assert model_spec("freedom") == ("freedom", {})
    assert model_spec("freedom:reg_weight=0,image_weight=0.2,x=a") == ("freedom", {"reg_weight": 0, "image_weight": 0.2, "x": "a"})
    with pytest.raises(ValueError, match="expected name:key=value"):
        model_spec("freedom:reg_weight")


def test_feature_floor_leaves_the_model_untouched():
    inputs = tiny_inputs()
    empty = sp.csr_matrix(inputs.train.shape)
    experiment = Experiment(inputs, empty, empty)
    model = create_model("freedom", inputs, {}, torch.device("cpu"))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert feature_floor(model, experiment, torch.device("cpu"), epoch=1) > 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
