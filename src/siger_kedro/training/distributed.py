"""Data-parallel training over several processes with torch.distributed (gloo on the CPU,
NCCL on GPUs). Every process holds the whole model and graphs, takes every world_size-th batch
of the shared epoch order, and averages gradients with all_reduce after each backward (what
DistributedDataParallel does, without its bucketing: our models' entry point is `loss`, not
`forward`). Rank 0 validates, checkpoints and reports; its decision is shared with the others.
"""
from __future__ import annotations

import io
import os
import socket
from typing import Callable

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ..storage import load_tensors
from .trainer import FitResult, fit, seed_everything


class ProcessGroup:
    def __init__(self, rank: int, world_size: int):
        self.rank, self.world_size = rank, world_size

    def shard(self, batches: list[torch.Tensor]) -> list[torch.Tensor]:
        if len(batches) < self.world_size:
            raise ValueError(f"{len(batches)} batches cannot feed {self.world_size} processes; "
                             "lower training.batch_size or training.processes")
        # Every process must run the same number of collectives: the last len % world_size
        # batches of the epoch's order are left out (other ones each epoch, as the order changes).
        usable = len(batches) - len(batches) % self.world_size
        return batches[self.rank : usable : self.world_size]

    def sync_gradients(self, model: torch.nn.Module) -> None:
        for p in model.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= self.world_size

    def all_sum(self, values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        keys = sorted(values)
        stacked = torch.stack([torch.as_tensor(values[k], dtype=torch.float64) for k in keys])
        dist.all_reduce(stacked)
        return dict(zip(keys, stacked))

    def validate(self, validate: Callable, model) -> dict[str, float]:
        box = [validate(model) if self.rank == 0 else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def in_sync(self, model: torch.nn.Module) -> bool:
        """Whether every process ended with the same parameters (a checksum per process)."""
        checksum = torch.stack([p.detach().double().abs().sum() for p in model.parameters()]).sum()
        gathered = [torch.zeros((), dtype=torch.float64) for _ in range(self.world_size)]
        dist.all_gather(gathered, checksum.cpu())
        return all(torch.equal(g, gathered[0]) for g in gathered)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, build: Callable, build_args: tuple,
            config, seed: int, results) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, rank=rank, world_size=world_size)
    try:
        torch.set_num_threads(max(1, torch.get_num_threads() // world_size))
        seed_everything(seed)  # identical initial weights in every process
        model, users, items, sampler, validate, checkpoint = build(*build_args, rank=rank)
        seed_everything(seed + rank)  # but different negative samples and perturbation noise
        group = ProcessGroup(rank, world_size)
        result = fit(model, users, items, sampler, validate, config, checkpoint, group)
        in_sync = group.in_sync(model)
        if rank == 0:  # as bytes: shared-memory tensors would vanish with this process
            buffer = io.BytesIO()
            torch.save((vars(result), in_sync), buffer)
            results.put(buffer.getvalue())
        dist.barrier()  # no process tears gloo down while another still has traffic in flight
    finally:
        dist.destroy_process_group()
    # Skip the interpreter's teardown, where gloo's threads can abort a finished process
    # ("terminate called without an active exception"); the result is already in the pipe.
    os._exit(0)


def fit_parallel(processes: int, build: Callable, build_args: tuple, config, seed: int) -> tuple[FitResult, bool]:
    """Train in `processes` processes. `build(*build_args, rank=r)` (a module-level function:
    it is pickled to the workers) returns (model, users, items, sampler, validate, checkpoint)
    for process r. Returns rank 0's result and whether all processes ended in sync."""
    context = mp.get_context("spawn")
    results = context.SimpleQueue()
    workers = mp.start_processes(_worker, args=(processes, _free_port(), build, build_args, config, seed, results),
                                 nprocs=processes, join=False, start_method="spawn")
    # Read rank 0's result while the workers run: a result larger than the pipe's buffer
    # (any real model) blocks its writer until it is read, so joining first would deadlock.
    # join() raises as soon as a worker fails, so a failure never leaves us waiting.
    payload = None
    while True:
        if payload is None and not results.empty():
            payload = results.get()
        if workers.join(timeout=0.2):
            break
    if payload is None:
        payload = results.get()
    state, in_sync = load_tensors(io.BytesIO(payload), "the result of training process 0")
    return FitResult(**state), in_sync
