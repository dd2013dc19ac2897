"""The training loop shared by every model: BPR batches, per-epoch validation, early stopping.

A model only needs `loss(users, pos, neg) -> {"loss": ..., <terms>...}` and
`embeddings() -> (users, items)`, and may define `start_epoch(epoch)` (models/base.py). Per-epoch numbers are emitted as log records carrying
`metrics` and `step` attributes, which the MLflow hook forwards live; nothing here knows MLflow.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from .checkpoint import Checkpointer, rng_state, set_rng_state
from .sampler import NegativeSampler

logger = logging.getLogger(__name__)


def resolve_device(device: str) -> torch.device:
    """'auto' picks CUDA when present, else the CPU; anything else is passed to torch."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 1000
    batch_size: int = 2048
    learning_rate: float = 1e-3
    # Adam's L2 weight decay on every parameter (MMRec's `weight_decay`; SLMRec's reference uses 1e-4)
    weight_decay: float = 0.0
    # the learning rate of epoch e (1-based) is learning_rate * lr_decay ** ((e - 1) / lr_decay_every):
    # MMRec's `learning_rate_scheduler: [lr_decay, lr_decay_every]`, a smooth exponential decay
    # (LATTICE and MGCN: 0.96 per 50 epochs; MIG-GT's authors: 0.99 per epoch); 1.0 = constant
    lr_decay: float = 1.0
    lr_decay_every: int = 1
    patience: int = 20  # epochs without improvement of the validation metric
    valid_metric: str = "recall@20"
    # "bf16": the loss under bfloat16 autocast (dense products, losses); sparse products, the
    # weights, their gradients, the optimiser and evaluation stay float32
    precision: str = "fp32"
    show_progress: bool = True
    label: str = "epochs"  # the progress bar's name, e.g. "freedom trial 3/8"
    term_gradients: bool = True  # log each loss term's gradient norm on the ID tables per epoch
    seed: int = 0  # of the batch order


@dataclass
class FitResult:
    best_state: dict[str, torch.Tensor]  # on the CPU
    best_epoch: int
    best_valid: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)


class SingleProcess:
    """The training loop's view of its processes when there is just one. A data-parallel
    implementation (`distributed.ProcessGroup`) shards the batches, averages the gradients,
    sums the epoch's losses and shares rank 0's validation."""

    rank, world_size = 0, 1

    def shard(self, batches: list[torch.Tensor]) -> list[torch.Tensor]:
        return batches

    def sync_gradients(self, model: torch.nn.Module) -> None:
        pass

    def all_sum(self, values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return values

    def validate(self, validate: Callable[[torch.nn.Module], dict[str, float]], model) -> dict[str, float]:
        return validate(model)


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, device) -> list[torch.Tensor]:
    """The epoch's shuffled batches, from a generator of its own seeded by (seed, epoch): every
    process draws the same order, and a resumed run draws what the interrupted one would have."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return list(torch.randperm(n, generator=generator).to(device).split(batch_size))


def epoch_triples(train_users: torch.Tensor, train_items: torch.Tensor, sampler: NegativeSampler,
                  batches: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(users, positives, negatives) per batch, gathered and sampled for the whole epoch in one
    vectorised pass: per batch this was a tenth of a LightGCN step."""
    idx = torch.cat(batches)
    users, pos = train_users[idx], train_items[idx]
    sizes = [len(b) for b in batches]
    return list(zip(users.split(sizes), pos.split(sizes), sampler.sample(users).split(sizes)))


def adam(model: torch.nn.Module, learning_rate: float, weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam with the fused kernel where torch has one for every parameter (CPU and CUDA
    float tensors): one pass over the weights instead of one per update term."""
    params = list(model.parameters())
    fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, lr=learning_rate, weight_decay=weight_decay, fused=fused or None)


def epoch_learning_rate(config: TrainConfig, epoch: int) -> float:
    """The learning rate of `epoch` (1-based): a function of the epoch alone, set before the
    epoch's first step, so a resumed run uses exactly the rate the uninterrupted one would."""
    return config.learning_rate * config.lr_decay ** ((epoch - 1) / config.lr_decay_every)


PRECISIONS = ("fp32", "bf16")


def autocast(config: TrainConfig, device: torch.device) -> torch.autocast:
    """The batch loss's autocast context: bfloat16 with `precision: bf16`, off with fp32."""
    if config.precision not in PRECISIONS:
        raise ValueError(f"training.precision must be one of {PRECISIONS}, got {config.precision!r}")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16")


TABLES = ("user_embedding", "item_embedding")


def term_gradient_norms(model: torch.nn.Module, users, pos, neg) -> dict[str, float]:
    """For each loss term, the norm of its weighted gradient on the user and the item ID tables
    (`grad_<term>_user`, `grad_<term>_item`), from a forward pass of its own on one batch: which
    term drives training. Weights come from the model's `term_weights()` (1 where it has none).
    The random generators are restored afterwards, so training draws what it would have."""
    tables = {name.split("_")[0]: p for name, p in model.named_parameters() if name in TABLES}
    if not tables:
        return {}
    cpu, cuda = torch.get_rng_state(), torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        terms = model.loss(users, pos, neg)
        weights = model.term_weights() if hasattr(model, "term_weights") else {}
        norms = {}
        for name, value in terms.items():
            if name == "loss" or not value.requires_grad:
                continue
            grads = torch.autograd.grad(value, list(tables.values()), retain_graph=True, allow_unused=True)
            for table, grad in zip(tables, grads):
                norm = 0.0 if grad is None else float(grad.norm())
                norms[f"grad_{name}_{table}"] = weights.get(name, 1.0) * norm
        return norms
    finally:
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def fit(
    model: torch.nn.Module,
    train_users: torch.Tensor,
    train_items: torch.Tensor,
    sampler: NegativeSampler,
    validate: Callable[[torch.nn.Module], dict[str, float]],
    config: TrainConfig,
    checkpoint: Checkpointer | None = None,
    processes: SingleProcess | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> FitResult:
    """Train with Adam on (user, positive, sampled negative) batches; validate every epoch
    with `validate(model)` and keep the weights of the best `config.valid_metric`. With a
    `checkpoint`, every epoch is saved and an interrupted run resumes after its last one.
    `on_epoch(epoch, valid metric)` is called after each epoch is saved; an exception it
    raises (a search pruning the trial) stops training, leaving that epoch's checkpoint."""
    processes = processes or SingleProcess()
    lead = processes.rank == 0  # only the first process validates, saves and reports
    checkpoint = checkpoint if lead else None
    optimizer = adam(model, config.learning_rate, config.weight_decay)
    n = train_users.numel()
    best = FitResult(best_state={}, best_epoch=-1, best_valid={})
    best_score, stale, first = -float("inf"), 0, 1
    saved = checkpoint.load() if checkpoint else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        best, best_score, stale = FitResult(**saved["result"]), saved["best_score"], saved["stale"]
        set_rng_state(saved["rng"])
        first = saved["epoch"] + 1
        logger.info("resuming training after epoch %d from %s", saved["epoch"], checkpoint.path,
                    extra={"tags": {"resumed_from_epoch": str(saved["epoch"])}})
    bar = tqdm(range(first, config.epochs + 1), desc=config.label, unit="epoch", initial=first - 1,
               total=config.epochs, disable=not (config.show_progress and lead))
    for epoch in bar:
        model.train()
        start = time.perf_counter()
        if hasattr(model, "start_epoch"):
            model.start_epoch(epoch)
        learning_rate = epoch_learning_rate(config, epoch)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate
        sums: dict[str, torch.Tensor] = {}
        batches = processes.shard(epoch_batches(n, config.batch_size, config.seed, epoch, train_users.device))
        triples = epoch_triples(train_users, train_items, sampler, batches)
        for users, pos, neg in triples:
            with autocast(config, train_users.device):
                terms = model.loss(users, pos, neg)
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            processes.sync_gradients(model)
            optimizer.step()
            for k, v in terms.items():  # accumulate on the device: no sync per batch
                sums[k] = sums.get(k, 0.0) + v.detach()
        sums["n_batches"] = torch.tensor(float(len(batches)), device=train_users.device)
        sums = processes.all_sum(sums)
        n_batches = float(sums.pop("n_batches"))
        losses = {f"train_{k}": float(v) / n_batches for k, v in sums.items()}
        train_seconds = time.perf_counter() - start
        if config.term_gradients and lead and triples:
            with autocast(config, train_users.device):
                losses |= term_gradient_norms(model, *triples[0])
        if not np.isfinite(losses["train_loss"]):
            kept = f"; the checkpoint of epoch {epoch - 1} is kept" if checkpoint else ""
            raise TrainingDiverged(
                f"training loss became {losses['train_loss']} at epoch {epoch}; best weights so "
                f"far are from epoch {best.best_epoch}{kept}. Lower the learning rate or the loss weights."
            )
        model.eval()
        valid = processes.validate(validate, model)
        record = {"epoch": epoch, "epoch_seconds": train_seconds, "learning_rate": learning_rate, **losses}
        record.update({f"valid_{k}": v for k, v in valid.items()})
        best.history.append(record)
        score = valid[config.valid_metric]
        if score > best_score:
            best_score, stale = score, 0
            best.best_epoch, best.best_valid = epoch, valid
            best.best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        else:
            stale += 1
        if checkpoint:
            checkpoint.save({"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                             "result": vars(best), "best_score": best_score, "stale": stale, "rng": rng_state()})
        metrics = {f"epoch/{k}": v for k, v in record.items() if k != "epoch"}
        (logger.info if lead else logger.debug)(
            "epoch %d  loss %.4f  valid %s %.4f  (%.2fs)",
            epoch, losses["train_loss"], config.valid_metric, score, train_seconds,
            extra={"metrics": metrics, "step": epoch},
        )
        bar.set_postfix(loss=f"{losses['train_loss']:.4f}", **{config.valid_metric: f"{score:.4f}"})
        if on_epoch is not None and lead:
            on_epoch(epoch, score)
        if stale >= config.patience:
            (logger.info if lead else logger.debug)("early stop at epoch %d: best %s %.4f at epoch %d",
                        epoch, config.valid_metric, best_score, best.best_epoch)
            break
    if checkpoint:
        checkpoint.clear()  # finished: a later run must not resume this one
    return best
