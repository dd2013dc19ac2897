"""End-to-end benchmark: ingestion, graph builds, training epochs, evaluation (figures: docs/scaling.md).

    python -m siger_kedro.bench [--quick | --sizes-scale tiny|quick|full] [--out DIR]
                                [--tracking-uri URI] [--device auto|cpu|cuda]

Writes DIR/bench.json and DIR/scaling.png, logs both and every number to an MLflow run
(experiment "siger_kedro_bench") and prints a summary. Full mode takes ~15 minutes on a 2-core
machine, --quick under two, tiny a few seconds (for the tests).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import graph_scaling, ml100k, processes, report
from .features import environment
from .memory import peak_rss_mb
from .synthetic import interactions
from ..training.trainer import resolve_device
from .training import TrainData, epoch_report, evaluation_report, siger_breakdown, timed_epoch


def _sizes(lo: float, hi: float) -> list[int]:
    """lo, lo·√10, ..., hi: two points per decade."""
    steps = round(2 * np.log10(hi / lo))
    return [int(round(lo * 10 ** (i / 2))) for i in range(steps + 1)]


# cooccurrence: interactions; knn: items; epoch: training interactions. max_batches cuts the
# ML-100k and generated epochs short (None = whole epoch); warmup runs one untimed batch first;
# repeats = timed calls per median. tiny only checks that everything runs (for the tests).
SCALES = {
    "full": dict(cooccurrence=_sizes(1e4, 1e6), knn=_sizes(1e3, 1e5), epoch=_sizes(1e4, 1e6),
                 max_batches=None, warmup=True, repeats=5, process_epochs=3, process_models=("lightgcn", "siger")),
    "quick": dict(cooccurrence=_sizes(1e4, 1e5), knn=_sizes(1e3, 1e4), epoch=_sizes(1e4, 1e5),
                  max_batches=None, warmup=True, repeats=3, process_epochs=3, process_models=("lightgcn", "siger")),
    "tiny": dict(cooccurrence=_sizes(1e3, 3e3), knn=_sizes(1e2, 3e2), epoch=_sizes(1e3, 3e3),
                 max_batches=1, warmup=False, repeats=1, process_epochs=1, process_models=("lightgcn",)),
}


def epoch_scaling(sizes: list[int], device: torch.device, max_batches: int | None,
                  warmup: bool) -> list[dict]:
    """LightGCN-config epoch time against generated training-set size."""
    points = []
    for size in sizes:
        users, items, n_users, n_items = interactions(size)
        data = TrainData.build(users, items, n_users, n_items, device=device)
        torch.manual_seed(0)
        epoch = timed_epoch(data.model(device), data, device, max_batches, warmup)
        points.append({"size": size, "n_users": n_users, "n_items": n_items, **epoch})
    return points


def run(scale: str, device: torch.device) -> dict:
    s = SCALES[scale]
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    ingestion, graphs, data, train, test = ml100k.load(device)
    epochs, models = {}, {}
    for name in ("lightgcn", "siger"):
        epochs[name], models[name] = epoch_report(data[name], device, s["max_batches"], s["warmup"],
                                                  s["repeats"])
    result = {
        "sizes_scale": scale,
        "device": str(device),
        "notes": [ml100k.NOTE, "lightgcn = models/lightgcn.py; epochs use batch 2048, Adam, "
                  "d = 64" + (", and start after one untimed warm-up batch" if s["warmup"] else "")],
        "environment": environment(),
        "ingestion": ingestion,
        "ml100k_graphs": graphs,
        "ml100k_epoch": epochs,
        "evaluation": evaluation_report(models["lightgcn"], train, test, device, max(s["repeats"], 3)),
        "siger_breakdown_ms": siger_breakdown(models["siger"], data["siger"], device, max(s["repeats"], 3)),
        "graph_scaling": {kind: graph_scaling.measure(kind, s[kind]) for kind in ("cooccurrence", "knn")},
        "epoch_scaling": {"lightgcn": epoch_scaling(s["epoch"], device, s["max_batches"], s["warmup"])},
        # CPU only: several processes on one GPU would only contend for it
        "processes": ({name: processes.process_scaling(data[name], epochs=s["process_epochs"])
                       for name in s["process_models"]} if device.type == "cpu" else {}),
    }
    # the workers' own VmHWM: getrusage's children figure would count the parent's pages at fork
    workers = [p["peak_rss_mb"] for series in result["graph_scaling"].values() for p in series]
    result["memory"] = {"peak_rss_mb": peak_rss_mb(), "graph_workers_peak_rss_mb": max(workers)}
    if device.type == "cuda":
        result["memory"]["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m siger_kedro.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--quick", action="store_const", const="quick", dest="sizes_scale",
                        help="same as --sizes-scale quick")
    parser.add_argument("--out", type=Path, default=Path("data/08_reporting/bench"))
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    parser.add_argument("--experiment", default="siger_kedro_bench")
    parser.add_argument("--device", default="auto", help="auto = cuda when available, else cpu")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)

    start = time.perf_counter()
    result = run(args.sizes_scale, device)
    result["total_seconds"] = time.perf_counter() - start
    files = report.write(result, args.out)
    result["mlflow_run_id"] = report.log_mlflow(result, files, args.tracking_uri, args.experiment)
    print(report.summary(result))
    print(f"\nwrote {', '.join(map(str, files))}; MLflow run {result['mlflow_run_id']} "
          f"({args.tracking_uri}, experiment {args.experiment}); {result['total_seconds']:.0f} s")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
