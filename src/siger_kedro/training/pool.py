"""Independent trainings in parallel processes (`experiments.workers`).

The experiment pipelines train many runs that do not depend on each other: the seeds of a
setting, the values of a swept parameter, the models of the cold-start experiment. With more
than one worker, `train_in_parallel` trains those the run store has not finished yet in
spawned processes, each writing its run to the store; the caller then walks its runs in
order as before and `train_model` finds each one finished. So MLflow runs, logs and reports
stay in the calling process, in the same order and with the same content as a serial run.
"""
from __future__ import annotations

import dataclasses
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed

import torch

from .runs import RunStore, TrainingJob, train_model

logger = logging.getLogger(__name__)


def _train(job: TrainingJob, root: str, threads: int) -> str:
    torch.set_num_threads(threads)
    return train_model(job, RunStore(root)).key


def train_in_parallel(jobs: list[TrainingJob], store: RunStore, workers: int) -> int:
    """Train the `jobs` that `store` has not finished in up to `workers` processes, each with
    an equal share of this process's threads; returns how many it trained. With one worker,
    or fewer than two unfinished jobs, it trains nothing: the caller trains them in turn."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"experiments.workers must be a positive integer, got {workers!r}")
    if workers == 1:  # before hashing any job: the serial default costs nothing here
        return 0
    pending = {}
    for job in jobs:
        key = job.key()
        if key not in pending and not store.finished(key):
            pending[key] = job
    if len(pending) < 2:
        return 0
    if any(job.processes > 1 for job in pending.values()):
        raise ValueError("experiments.workers > 1 trains whole runs side by side; it cannot be combined with "
                         "training.processes > 1 (data-parallel processes for one run): set one of them to 1")
    n = min(workers, len(pending))
    threads = max(1, torch.get_num_threads() // n)
    logger.info("training %d runs in %d processes of %d threads", len(pending), n, threads)
    quiet = {key: dataclasses.replace(job, config=dataclasses.replace(job.config, show_progress=False))
             for key, job in pending.items()}  # n progress bars would overwrite each other
    with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_train, job, str(store.root), threads): job for job in quiet.values()}
        for done in as_completed(futures):
            job = futures[done]
            try:
                done.result()
            except Exception as exc:
                for other in futures:
                    other.cancel()
                raise RuntimeError(f"{job.config.label}: training in a worker process failed: {exc}") from exc
            logger.info("%s: finished in a worker process", job.config.label)
    return len(pending)
