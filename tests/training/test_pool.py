"""experiments.workers: independent trainings in parallel processes land in the run store,
where the serial loop that reports them finds them finished."""
from __future__ import annotations

import dataclasses

import pytest
from test_runs import _job

from siger_kedro.training.pool import train_in_parallel
from siger_kedro.training.runs import RunStore, train_model


def _seeded(seed: int):
    job = _job()
    return dataclasses.replace(job, config=dataclasses.replace(job.config, seed=seed, label=f"lightgcn seed {seed}"))


def test_runs_trained_in_worker_processes_are_those_a_serial_run_trains(tmp_path):
    jobs = [_seeded(s) for s in (1, 2, 3)]
    store = RunStore(tmp_path / "runs")
    assert train_in_parallel([*jobs, jobs[0]], store, workers=2) == 3  # a repeated job trains once
    assert all(store.finished(job.key()) for job in jobs)
    assert train_in_parallel(jobs, store, workers=2) == 0  # nothing left to train
    for job in jobs:
        found, serial = train_model(job, store), train_model(job)
        assert found.reused and found.best_epoch == serial.best_epoch
        for a, b in zip(found.history, serial.history):
            assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert found.scores == pytest.approx(serial.scores, rel=1e-4, abs=1e-6)
    assert len({train_model(job, store).history[0]["train_loss"] for job in jobs}) == 3  # the seeds differ


def test_one_worker_or_one_pending_run_leaves_the_training_to_the_caller(tmp_path):
    store = RunStore(tmp_path / "runs")
    assert train_in_parallel([_seeded(1), _seeded(2)], store, workers=1) == 0
    assert train_in_parallel([_seeded(1)], store, workers=4) == 0
    assert not list((tmp_path / "runs").glob("*"))


def test_bad_settings_and_worker_failures_are_named(tmp_path):
    store = RunStore(tmp_path / "runs")
    with pytest.raises(ValueError, match="experiments.workers must be a positive integer, got 0"):
        train_in_parallel([_seeded(1)], store, workers=0)
    two = [dataclasses.replace(_seeded(s), processes=2) for s in (1, 2)]
    with pytest.raises(ValueError, match="cannot be combined with training.processes > 1"):
        train_in_parallel(two, store, workers=2)
    broken = dataclasses.replace(_seeded(2), hyperparameters={"embedding_dim": 8, "layers": -1})
    with pytest.raises(RuntimeError, match="lightgcn seed 2: training in a worker process failed"):
        train_in_parallel([_seeded(1), broken], store, workers=2)


def test_experiments_workers_is_checked_before_anything_runs():
    from siger_kedro.parameters import ParameterError, check_parameters

    check_parameters({"experiments": {"workers": 4}})
    for bad in (0, "2", 1.5):
        with pytest.raises(ParameterError, match=r"experiments.workers: .* is not allowed"):
            check_parameters({"experiments": {"workers": bad}})
