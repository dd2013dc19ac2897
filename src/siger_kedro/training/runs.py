"""The one way to train a model: `train_model(job, store) -> TrainingResult`.

Every pipeline trains through it (the `train` pipeline's model, each search trial and each
seed of `compare`), so every model gets the same sampler, early stopping, evaluator, per-epoch
checkpoints and resume, data-parallel processes, live per-epoch metrics (log records the MLflow
hook forwards), divergence errors and progress bars.

A run is identified by its key: the data (`Experiment.digest`), the model, the code of its
module and of training, its hyper-parameters, the training settings, the number of processes
and the device type. A `RunStore` keeps, per key, the checkpoint of an unfinished run and the
result of a finished one, so an interrupted run resumes after its last epoch and a finished
one is never trained twice (a search trial that `compare` later trains as its chosen setting,
a grid that was interrupted half-way).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import torch

from ..cache import code_version, stable_hash
from ..models.registry import create_model, model_config, module_name
from ..storage import UntrustedFile, atomic_path, load_tensors
from .checkpoint import Checkpointer
from .distributed import fit_parallel
from .experiment import Experiment, evaluator_for, scores_and_users
from .sampler import NegativeSampler
from .trainer import TrainConfig, fit, resolve_device, seed_everything

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingJob:
    """What to train: a model with its hyper-parameters on an experiment. Picklable, so that
    data-parallel worker processes receive it."""

    experiment: Experiment
    model: str
    hyperparameters: dict
    config: TrainConfig
    evaluation: dict
    device: str = "cpu"
    processes: int = 1

    def key(self) -> str:
        config = {k: v for k, v in dataclasses.asdict(self.config).items() if k not in ("show_progress", "label", "term_gradients")}
        return stable_hash([
            self.experiment.digest, self.model, code_version(module_name(self.model)), code_version(__name__),
            dataclasses.asdict(model_config(self.model, self.hyperparameters)), config,
            {k: self.evaluation[k] for k in ("ks", "mask_valid_in_test")},
            self.processes, resolve_device(self.device).type,
        ])[:16]


@dataclass
class TrainingResult:
    weights: dict[str, torch.Tensor]  # the best epoch's state_dict, on the CPU
    history: list[dict[str, float]]  # one record per epoch: losses, valid metrics, seconds
    best_epoch: int
    scores: dict[str, float]  # valid_* and test_* of the best weights
    key: str = ""
    reused: bool = False  # loaded from the store, not trained by this call
    per_user: pd.DataFrame | None = None  # each test user's metrics (experiment.scores_and_users)


PER_USER = "per_user.parquet"


class RunStore:
    """Per run key, under `root`: `checkpoint.pt` while the run trains, then `weights.pt`,
    `per_user.parquet` and `result.json` (written last: a result without it is unfinished).
    Runs stored before per-user scores were kept have no parquet; `train_model` adds it."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def study_storage(self) -> str:
        """The SQLite URL of the hyper-parameter searches' Optuna studies, beside the runs."""
        self.root.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.root.parent / 'search.db').resolve()}"

    def checkpointer(self, key: str) -> Checkpointer:
        return Checkpointer(self.root / key / "checkpoint.pt", key)

    def finished(self, key: str) -> bool:
        """Whether `key` has a finished result (which `load` may still find damaged)."""
        return (self.root / key / "result.json").is_file()

    def load(self, key: str) -> TrainingResult | None:
        folder = self.root / key
        if not self.finished(key):
            return None
        try:
            record = json.loads((folder / "result.json").read_text())
            weights = load_tensors(folder / "weights.pt", str(folder / "weights.pt"))
        except UntrustedFile:
            raise
        except (OSError, ValueError, RuntimeError, EOFError) as exc:  # damaged: train again
            logger.warning("%s: unreadable finished run (%s); it is trained again", folder, exc)
            return None
        per_user = folder / PER_USER
        return TrainingResult(weights=weights, key=key, reused=True, **record,
                              per_user=pd.read_parquet(per_user) if per_user.is_file() else None)

    def save(self, result: TrainingResult) -> None:
        folder = self.root / result.key
        with atomic_path(folder / "weights.pt") as tmp:
            torch.save(result.weights, tmp)
        self.save_per_user(result)
        record = {"history": result.history, "best_epoch": result.best_epoch, "scores": result.scores}
        with atomic_path(folder / "result.json") as tmp:
            tmp.write_text(json.dumps(record, indent=1))

    def save_per_user(self, result: TrainingResult) -> None:
        if result.per_user is not None:
            with atomic_path(self.root / result.key / PER_USER) as tmp:
                result.per_user.to_parquet(tmp, index=False)

    def forget(self, key: str) -> None:
        shutil.rmtree(self.root / key, ignore_errors=True)


def _process_setup(job: TrainingJob, checkpoint: Checkpointer | None, rank: int = 0):
    """Model, training pairs, sampler, validation and checkpoint of one training process."""
    device = resolve_device(job.device)
    if device.type == "cuda" and rank:
        device = torch.device("cuda", rank)  # one GPU per process
    experiment = job.experiment
    model = create_model(job.model, experiment.inputs, job.hyperparameters, device)
    users, items = (torch.as_tensor(a, device=device) for a in experiment.inputs.train_pairs())
    evaluator = evaluator_for(experiment, job.evaluation, device)
    task = evaluator.prepare(experiment.valid, [experiment.inputs.train])
    sampler = NegativeSampler(users, items, experiment.inputs.n_users, experiment.inputs.n_items)
    return model, users, items, sampler, _Validate(evaluator, task), checkpoint


class _Validate:
    """Validation metrics of a model's current embeddings (a class, not a closure: it crosses
    into worker processes with the rest of the setup)."""

    def __init__(self, evaluator, task):
        self.evaluator, self.task = evaluator, task

    def __call__(self, model) -> dict[str, float]:
        return self.evaluator.evaluate(*model.embeddings(), task=self.task)


def train_model(job: TrainingJob, store: RunStore | None = None,
                on_epoch: Callable[[int, float], None] | None = None) -> TrainingResult:
    """Train `job` with early stopping on validation (or load its finished run from `store`).
    `on_epoch(epoch, valid metric)`: see `trainer.fit` (single-process training only)."""
    if job.processes < 1 or int(job.processes) != job.processes:
        raise ValueError(f"training.processes must be a positive integer, got {job.processes!r}")
    if job.config.epochs < 1 or int(job.config.epochs) != job.config.epochs:
        raise ValueError(f"training.epochs must be a positive integer, got {job.config.epochs!r}")
    key = job.key()
    if store is not None:
        found = store.load(key)
        if found is not None:
            logger.info("%s: reusing the finished run %s (same data, code and settings)", job.model, key)
            if found.per_user is None:  # stored before per-user scores were kept
                found.per_user = _per_user(job, found.weights)
                store.save_per_user(found)
            return found
    checkpoint = store.checkpointer(key) if store is not None else None
    if job.processes == 1:
        seed_everything(job.config.seed)
        model, users, items, sampler, validate, checkpoint = _process_setup(job, checkpoint)
        fitted = fit(model, users, items, sampler, validate, job.config, checkpoint, on_epoch=on_epoch)
    else:
        fitted, in_sync = fit_parallel(job.processes, _process_setup, (job, checkpoint), job.config, job.config.seed)
        if not in_sync:
            raise RuntimeError(f"the {job.processes} training processes ended with different parameters")
        for record in fitted.history:  # the workers' epochs, reported to the run after the fact
            logger.info("epoch %d of %d processes", record["epoch"], job.processes, extra={
                "metrics": {f"epoch/{k}": v for k, v in record.items() if k != "epoch"}, "step": record["epoch"]})
        model = create_model(job.model, job.experiment.inputs, job.hyperparameters, resolve_device(job.device))
    model.load_state_dict(fitted.best_state)
    model.eval()
    device = resolve_device(job.device)
    scores, per_user = scores_and_users(model, job.experiment, job.evaluation, device)
    result = TrainingResult(weights=fitted.best_state, history=fitted.history, best_epoch=fitted.best_epoch,
                            scores=scores, key=key, per_user=per_user)
    if store is not None:
        store.save(result)
    return result


def _per_user(job: TrainingJob, weights: dict[str, torch.Tensor]) -> pd.DataFrame:
    """Each test user's metrics of a finished run's best weights."""
    device = resolve_device(job.device)
    model = create_model(job.model, job.experiment.inputs, job.hyperparameters, device)
    model.load_state_dict(weights)
    model.eval()
    return scores_and_users(model, job.experiment, job.evaluation, device)[1]
