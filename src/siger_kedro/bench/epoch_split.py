"""Where a training epoch's time goes, per model: graph rebuild (`start_epoch`, e.g. FREEDOM's
edge pruning), negative sampling, the loss (forward), its backward and the optimiser step.

    python -m siger_kedro.bench.epoch_split --bundle .device/bundle --models lightgcn freedom
    python -m siger_kedro.bench.epoch_split --models lightgcn freedom freedom:reg_weight=0

Models are timed in alternating rounds and each phase is the median over the rounds, because a
shared machine's speed drifts within minutes; `ratio_to_first` is the median over rounds of
each model's epoch over the first model's. For FREEDOM, `feature_floor` is what its modality
BPR terms' products and Adam step cost at the least, so that its epoch can be judged against
what MMRec's arithmetic allows. The bundle is the device check's
(`python -m siger_kedro.bench.device bundle`): a dataset's real stage outputs.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import numpy as np
import torch

from ..models.freedom import Freedom
from ..models.registry import create_model
from ..training.experiment import Experiment
from ..training.sampler import NegativeSampler
from ..training.trainer import TrainConfig, adam, epoch_batches, epoch_triples
from .training import PHASES as EPOCH_PHASES
from .training import Clock, timed_step

PHASES = ("graph_rebuild", *EPOCH_PHASES)  # sampling, forward_losses, backward, optimizer_step


def epoch_phases(model: torch.nn.Module, experiment: Experiment, device: torch.device, epoch: int,
                 config: TrainConfig = TrainConfig()) -> dict[str, float]:
    """Seconds of each phase of one training epoch of `model` (trained in place)."""
    users, items = (torch.as_tensor(a, device=device) for a in experiment.inputs.train_pairs())
    sampler = NegativeSampler(users, items, experiment.inputs.n_users, experiment.inputs.n_items)
    optimizer = adam(model, config.learning_rate)
    clock, seconds = Clock(device), dict.fromkeys(PHASES, 0.0)
    model.train()
    start = clock()
    if hasattr(model, "start_epoch"):
        model.start_epoch(epoch)
    seconds["graph_rebuild"], start = clock() - start, clock()
    triples = epoch_triples(users, items, sampler, epoch_batches(users.numel(), config.batch_size, 0, epoch, device))
    seconds["sampling"] = clock() - start
    for batch in triples:
        timed_step(model, optimizer, clock, batch, seconds)
    seconds["epoch"] = sum(seconds[p] for p in PHASES)
    return seconds


def feature_floor(model: Freedom, experiment: Experiment, device: torch.device, epoch: int,
                  config: TrainConfig = TrainConfig()) -> float:
    """Seconds per epoch that FREEDOM's modality BPR terms over projected raw features
    (`model.projections` of `model.features`, as in MMRec) cost at the least: per
    batch, only the distinct item rows the batch names projected, the backward products for the
    projections (and for those rows when the features are fine-tuned), and Adam's step over the
    feature tables and projections. No gathers, losses or scatters are timed, so the modality
    terms can cost no less than this in any implementation of the same arithmetic."""
    users, items = (torch.as_tensor(a, device=device) for a in experiment.inputs.train_pairs())
    sampler = NegativeSampler(users, items, experiment.inputs.n_users, experiment.inputs.n_items)
    triples = epoch_triples(users, items, sampler, epoch_batches(users.numel(), config.batch_size, 0, epoch, device))
    features, projections = copy.deepcopy(model.features), copy.deepcopy(model.projections)  # model untouched
    optimizer = adam(torch.nn.ModuleList([features, projections]), config.learning_rate)
    clock, seconds = Clock(device), 0.0
    for _, pos, neg in triples:
        rows = torch.unique(torch.cat([pos, neg]))  # untimed: the floor gathers nothing
        batch = {m: x.detach().index_select(0, rows).requires_grad_(x.requires_grad) for m, x in features.items()}
        for x in features.values():  # Adam's cost does not depend on the gradient's values
            x.grad = torch.zeros_like(x) if x.requires_grad else None
        projections.zero_grad(set_to_none=True)
        start = clock()
        for m, proj in projections.items():
            out = proj(batch[m])
            out.backward(torch.ones_like(out))
        optimizer.step()
        seconds += clock() - start
    return seconds


def model_spec(spec: str) -> tuple[str, dict]:
    """'freedom:reg_weight=0,knn_k=5' -> ('freedom', {'reg_weight': 0, 'knn_k': 5}): a model
    and hyper-parameter overrides (JSON values; anything else is a string)."""
    name, _, settings = spec.partition(":")
    overrides = {}
    for item in filter(None, settings.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"model spec {spec!r}: expected name:key=value,..., got {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return name, overrides


def compare_epochs(experiment: Experiment, models: list[str], device: torch.device, rounds: int,
                   seed: int = 0) -> dict:
    """Each model's phases (median over `rounds` alternating rounds, after one warm-up epoch);
    a model is a name or a `model_spec` with overrides."""
    nets = {}
    for spec in models:
        torch.manual_seed(seed)
        name, overrides = model_spec(spec)
        nets[spec] = create_model(name, experiment.inputs, overrides, device)
        epoch_phases(nets[spec], experiment, device, epoch=1)  # warm-up: allocator, kernels
    runs = {name: [] for name in models}
    for r in range(rounds):
        for name in models:
            runs[name].append(epoch_phases(nets[name], experiment, device, epoch=r + 2))
            if isinstance(nets[name], Freedom) and nets[name].config.reg_weight != 0:
                runs[name][-1]["feature_floor"] = feature_floor(nets[name], experiment, device, epoch=r + 2)
    first = runs[models[0]]
    return {name: {**{k: float(np.median([x[k] for x in rs])) for k in (*PHASES, "epoch", "feature_floor") if k in rs[0]},
                   "ratio_to_first": float(np.median([x["epoch"] / f["epoch"] for x, f in zip(rs, first)]))}
            for name, rs in runs.items()}


def table(report: dict) -> str:
    columns = (*PHASES, "epoch", "feature_floor")
    width = max(10, *map(len, report))
    lines = [f"{'model':{width}} " + " ".join(f"{p:>13}" for p in columns) + f" {'ratio':>6}"]
    for name, r in report.items():
        lines.append(f"{name:{width}} " + " ".join(f"{r[p]:13.3f}" if p in r else f"{'-':>13}" for p in columns)
                     + f" {r['ratio_to_first']:6.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    from .device import load_bundle  # the device check's bundle reader

    parser = argparse.ArgumentParser(prog="python -m siger_kedro.bench.epoch_split", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=Path(".device/bundle"))
    parser.add_argument("--models", nargs="+", default=["lightgcn", "freedom"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    report = compare_epochs(load_bundle(args.bundle), args.models, torch.device(args.device), args.rounds)
    print(table(report))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
