"""The run store keeps each test user's metrics beside a finished run's weights."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from siger_kedro.training.experiment import Experiment
from siger_kedro.training.runs import PER_USER, RunStore, TrainingJob, train_model
from siger_kedro.training.trainer import TrainConfig

sys.path.insert(0, str(Path(__file__).parents[1] / "models"))
from tiny import N_ITEMS, N_USERS, tiny_inputs  # noqa: E402

EVALUATION = {"ks": [5, 10], "batch_size": 4, "mask_valid_in_test": True}


def _job() -> TrainingJob:
    inputs = tiny_inputs()
    held_out = sp.csr_matrix((1 - inputs.train.toarray()) * (np.arange(N_ITEMS) % 3 == 0))
    valid = sp.csr_matrix(held_out.toarray() * (np.arange(N_USERS) % 2 == 0)[:, None])
    test = sp.csr_matrix(held_out - valid)
    config = TrainConfig(epochs=2, batch_size=16, learning_rate=0.01, valid_metric="recall@10", show_progress=False)
    return TrainingJob(Experiment(inputs, valid, test), "lightgcn", {"embedding_dim": 8}, config, EVALUATION)


def test_per_user_scores_are_kept_and_added_to_runs_stored_without_them(tmp_path):
    store = RunStore(tmp_path)
    result = train_model(_job(), store)
    per_user = result.per_user
    test_users = np.flatnonzero(np.diff(_job().experiment.test.indptr))
    assert per_user["user"].tolist() == test_users.tolist()
    for key in ("recall@10", "ndcg@5"):
        assert per_user[key].mean() == pytest.approx(result.scores[f"test_{key}"])
    parquet = tmp_path / result.key / PER_USER
    assert parquet.is_file()

    parquet.unlink()  # a run stored before per-user scores were kept
    again = train_model(_job(), store)
    assert again.reused and parquet.is_file()
    assert again.per_user.equals(per_user)


@pytest.mark.parametrize("model", ["lightgcn", "siger"])
def test_bf16_trains_close_to_fp32_from_the_same_seed(model):
    import dataclasses

    job = _job()
    job = dataclasses.replace(job, model=model, config=dataclasses.replace(job.config, epochs=3))
    full = train_model(job)
    half = train_model(dataclasses.replace(job, config=dataclasses.replace(job.config, precision="bf16")))
    assert half.key != full.key  # a different run, stored apart
    for a, b in zip(half.history, full.history):
        assert np.isfinite(a["train_loss"]) and a["train_loss"] == pytest.approx(b["train_loss"], rel=0.05)
    assert half.weights["user_embedding"].dtype == torch.float32  # the weights stay float32
    with pytest.raises(ValueError, match=r"training.precision must be one of \('fp32', 'bf16'\), got 'fp16'"):
        train_model(dataclasses.replace(job, config=dataclasses.replace(job.config, precision="fp16")))
