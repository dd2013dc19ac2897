"""Every bad parameter is refused when the run starts, before any node, naming the key, the
value and what is allowed."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from kedro.framework.startup import bootstrap_project

from datagen import write_atomic
from siger_kedro.cli import run


@pytest.mark.parametrize("params, message", [
    ("training.epochs=ten", "training.epochs: 'ten' is not allowed: Input should be a valid integer"),
    ("training.batch_size=0", "training.batch_size: 0 is not allowed: Input should be greater than 0"),
    ("training.sigr.lambda_p=0.1", "training.sigr: unknown parameter (a typo?)"),
    ("siger.hyperparameters.lambda_pp=0.1", "siger.hyperparameters.lambda_pp: unknown hyper-parameter of siger"),
    ("siger.hyperparameters.epsilon=big", "siger.hyperparameters.epsilon: 'big' is not allowed"),
    ("compare.models=nosuch", "compare.models names ['nosuch']; known models: lightgcn, vbpr"),
    ("training.device=cuda", "training.device: 'cuda' is not allowed: asks for CUDA, but torch finds no CUDA"),
    ("miggt.training.lr_decay=1.5", "miggt.training.lr_decay: 1.5 is not allowed: Input should be less than or equal to 1"),
    ("training.weight_decay=-1", "training.weight_decay: -1 is not allowed: Input should be greater than or equal to 0"),
    ("graphs.beta=1.5", "graphs.beta: 1.5 is not allowed: Input should be less than or equal to 1"),
    ("training.valid_metric=recall@30", "its cut-off must be one of evaluation.ks"),
    ("trainig.epochs=3", "trainig: unknown parameter section"),
])
def test_a_bad_parameter_is_refused_before_anything_runs(kedro_project, monkeypatch, params, message):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)  # the same answer on a GPU machine
    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    bootstrap_project(kedro_project)
    result = CliRunner().invoke(run, ["--pipeline", "train", "--env", "test", "--params", f"dataset=tiny,{params}"])
    assert result.exit_code != 0
    assert "bad parameters (nothing has run)" in str(result.exception) and message in str(result.exception)
    assert sorted(p.name for p in (kedro_project / "data").iterdir()) == ["01_raw"]  # no stage wrote anything
