"""The device check: a few epochs of LightGCN, FREEDOM and SIGER on a GPU against the same
epochs on the CPU, and the training figures that only a GPU can give. It needs only this
package's Kedro-free library, numpy, scipy, pandas, pyarrow, torch and tqdm, so that it runs on
a machine with nothing else installed.

    # here: pack the stage outputs of a dataset (run `kedro run --pipeline train` first)
    python -m siger_kedro.bench.device bundle --dataset ml-100k --out .device/bundle
    # there (or here with --device cpu): one JSON and a printed table
    python -m siger_kedro.bench.device run --bundle .device/bundle --device cuda --out device.json

For each model, training runs `--epochs` epochs from the same seed on the chosen device and on
the CPU; the report gives both loss and validation Recall@20 curves, whether they agree within
`--tolerance` (sparse products on a GPU add in another order, so they are close, not equal),
the mean epoch time, the time of one full-ranking evaluation of valid and test, and the peak
device memory; then the same epochs with `training.precision: bf16` on the chosen device,
against its float32 run. `--synthetic` adds one LightGCN epoch and evaluation on a generated
dataset of that many interactions, shaped like Amazon Sports (35,598 users, 18,357 items at
296,337). `--knn-items` times the exact cosine kNN graph of that many random 384-d features
built on the device in row blocks (matrix product and top-k), checked against the host's
exact neighbours for a sample of rows.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ..data.split import TEST, TRAIN, VALID
from ..graphs.normalize import interaction_matrix, normalize_bipartite, ui_adjacency
from ..models.registry import create_model
from ..storage import load_arrays
from ..training.experiment import Experiment, experiment_from_arrays, score
from ..training.runs import RunStore, TrainingJob, train_model
from ..training.trainer import TrainConfig
from .training import Clock

MODELS = ("lightgcn", "freedom", "siger")
EVALUATION = {"ks": [10, 20], "batch_size": 1024, "mask_valid_in_test": False, "recommend_k": 10}
# the stage outputs a model trains on, as the catalog lays them out under data/
STAGES = {"intermediate": ("02_intermediate", ["interactions.parquet", "dataset_info.json"]),
          "features": ("04_feature", None), "graphs": ("05_model_input", None)}
SPORTS = (35_598, 18_357, 296_337)  # users, items, interactions of Amazon Sports (MMRec's 5-core)


def make_bundle(data: Path, dataset: str, out: Path) -> Path:
    """Copy the ingest, features and graphs outputs of `dataset` under `data` into `out`."""
    for name, (layer, files) in STAGES.items():
        source = data / layer / dataset
        if not source.is_dir():
            raise FileNotFoundError(f"{source}: missing; run `kedro run --pipeline train --params dataset={dataset}` first")
        if files is None:
            shutil.copytree(source, out / name, dirs_exist_ok=True)
        else:
            (out / name).mkdir(parents=True, exist_ok=True)
            for f in files:
                shutil.copy2(source / f, out / name / f)
    return out


def load_bundle(bundle: Path) -> Experiment:
    graphs = bundle / "graphs"
    read = lambda name: sp.load_npz(graphs / f"{name}.npz").tocsr()  # noqa: E731
    folder = lambda name: load_arrays(graphs / name, ".npz") if (graphs / name).is_dir() else {}  # noqa: E731
    return experiment_from_arrays(
        pd.read_parquet(bundle / "intermediate" / "interactions.parquet"),
        json.loads((bundle / "intermediate" / "dataset_info.json").read_text()),
        load_arrays(bundle / "features", "_feat.npy"), read("ui_adjacency"), read("user_item"), folder("eisg"),
        read("cooccurrence"), folder("knn"), folder("consistent_knn"))


def synthetic_experiment(n_users: int, n_items: int, n: int, seed: int = 0) -> Experiment:
    """`n` distinct random pairs with Zipf-like item popularity, split 80/10/10 at random; no
    item features (LightGCN)."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    keys = np.unique(rng.integers(0, n_users, 2 * n) * n_items + rng.choice(n_items, 2 * n, p=popularity / popularity.sum()))
    keys = rng.permutation(keys)[:n]
    users, items = keys // n_items, keys % n_items
    split = rng.choice([TRAIN, VALID, TEST], size=len(keys), p=[0.8, 0.1, 0.1]).astype(np.int8)
    frame = pd.DataFrame({"user": users, "item": items, "split": split})
    train = frame[frame["split"] == TRAIN]
    r = interaction_matrix(train["user"].to_numpy(), train["item"].to_numpy(), n_users, n_items)
    return experiment_from_arrays(frame, {"n_users": n_users, "n_items": n_items}, {}, ui_adjacency(r),
                                  normalize_bipartite(r), {})


def _peak_reset(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mb(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def train_on(experiment: Experiment, model: str, device: torch.device, epochs: int, seed: int,
             precision: str = "fp32") -> dict:
    """`epochs` epochs of `model` on `device` (no early stop), then one timed evaluation."""
    config = TrainConfig(epochs=epochs, patience=epochs, seed=seed, show_progress=False, term_gradients=False,
                         precision=precision)
    job = TrainingJob(experiment, model, {}, config, EVALUATION, device=str(device))
    _peak_reset(device)
    with tempfile.TemporaryDirectory() as runs:
        result = train_model(job, RunStore(runs))
    net = create_model(model, experiment.inputs, {}, device)
    net.load_state_dict(result.weights)
    net.eval()
    clock = Clock(device)
    start = clock()
    with torch.no_grad():
        score(net, experiment, EVALUATION, device)
    evaluation_seconds = clock() - start
    history = result.history
    return {"device": str(device), "loss": [h["train_loss"] for h in history],
            "valid_recall@20": [h["valid_recall@20"] for h in history],
            "epoch_seconds": [h["epoch_seconds"] for h in history],
            "mean_epoch_seconds": float(np.mean([h["epoch_seconds"] for h in history[1:] or history])),
            "evaluation_seconds": evaluation_seconds, "peak_device_mb": _peak_mb(device)}


def agreement(run: dict, reference: dict, tolerance: float) -> dict:
    """Largest relative loss difference and absolute Recall@20 difference over the epochs."""
    loss = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(run["loss"], reference["loss"]))
    recall = max(abs(a - b) for a, b in zip(run["valid_recall@20"], reference["valid_recall@20"]))
    return {"max_relative_loss_difference": loss, "max_recall@20_difference": recall,
            "within_tolerance": bool(loss <= tolerance and recall <= tolerance)}


def run(bundle: Path, device: torch.device, epochs: int, models: list[str], tolerance: float,
        synthetic: int | None, seed: int = 2024, knn_items: int | None = None) -> dict:
    experiment = load_bundle(bundle)
    report = {"torch": torch.__version__, "device": str(device),
              "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "dataset": {"n_users": experiment.inputs.n_users, "n_items": experiment.inputs.n_items,
                          "n_train": int(experiment.inputs.train.nnz), "modalities": experiment.inputs.modalities},
              "epochs": epochs, "tolerance": tolerance, "models": {}}
    for model in models:
        on_device = train_on(experiment, model, device, epochs, seed)
        entry = {"run": on_device}
        if device.type != "cpu":
            entry["cpu"] = train_on(experiment, model, torch.device("cpu"), epochs, seed)
            entry["agreement"] = agreement(on_device, entry["cpu"], tolerance)
        entry["bf16"] = train_on(experiment, model, device, epochs, seed, precision="bf16")
        entry["bf16_agreement"] = agreement(entry["bf16"], on_device, tolerance)
        report["models"][model] = entry
    if synthetic:
        scale = synthetic / SPORTS[2]
        users, items = max(int(SPORTS[0] * scale), 8), max(int(SPORTS[1] * scale), 8)
        data = synthetic_experiment(users, items, synthetic)
        report["synthetic"] = {"n_users": users, "n_items": items, "interactions": synthetic,
                               "lightgcn": train_on(data, "lightgcn", device, 1, seed)}
    if knn_items:
        report["knn"] = device_knn(knn_items, device)
    return report


def device_knn(n_items: int, device: torch.device, dim: int = 384, k: int = 10, block: int = 4096,
               sample: int = 256, seed: int = 0) -> dict:
    """The exact cosine kNN of `n_items` random `dim`-d features on `device`, in row blocks of a
    matrix product and a top-k; the neighbours of `sample` rows checked against float64 on the host."""
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n_items, dim)).astype(np.float32)
    clock = Clock(device)
    _peak_reset(device)
    start = clock()
    x = torch.nn.functional.normalize(torch.from_numpy(features).to(device), dim=1)
    neighbours = torch.cat([torch.topk(x[i:i + block] @ x.T, k + 1, dim=1).indices for i in range(0, n_items, block)])
    neighbours = neighbours.cpu().numpy()
    seconds = clock() - start
    rows = rng.choice(n_items, size=min(sample, n_items), replace=False)
    unit = features.astype(np.float64) / np.linalg.norm(features.astype(np.float64), axis=1, keepdims=True)
    exact = np.argsort(-(unit[rows] @ unit.T), axis=1, kind="stable")[:, : k + 1]
    overlap = np.mean([len(set(a) & set(b)) / (k + 1) for a, b in zip(neighbours[rows], exact)])
    return {"n_items": n_items, "dim": dim, "k": k, "seconds": seconds, "peak_device_mb": _peak_mb(device),
            "sampled_rows": len(rows), "neighbour_overlap_with_float64": float(overlap)}


def table(report: dict) -> str:
    lines = [f"device check on {report['device_name']} (torch {report['torch']}), {report['epochs']} epochs",
             f"{'model':10} {'epoch s':>9} {'cpu epoch s':>12} {'eval s':>8} {'peak MB':>9} {'recall@20':>10} "
             f"{'cpu recall':>10} {'agrees':>7} {'bf16 epoch s':>12} {'bf16 recall':>11} {'agrees':>7}"]
    for model, entry in report["models"].items():
        run_, cpu = entry["run"], entry.get("cpu", {})
        peak = run_["peak_device_mb"]
        lines.append(f"{model:10} {run_['mean_epoch_seconds']:9.3f} {cpu.get('mean_epoch_seconds', float('nan')):12.3f} "
                     f"{run_['evaluation_seconds']:8.3f} {peak if peak is not None else float('nan'):9.1f} "
                     f"{run_['valid_recall@20'][-1]:10.4f} {cpu.get('valid_recall@20', [float('nan')])[-1]:10.4f} "
                     f"{str(entry.get('agreement', {}).get('within_tolerance', '-')):>7} "
                     f"{entry['bf16']['mean_epoch_seconds']:12.3f} {entry['bf16']['valid_recall@20'][-1]:11.4f} "
                     f"{str(entry['bf16_agreement']['within_tolerance']):>7}")
    if "synthetic" in report:
        s = report["synthetic"]
        lines.append(f"synthetic {s['n_users']} users x {s['n_items']} items, {s['interactions']} interactions: "
                     f"LightGCN epoch {s['lightgcn']['mean_epoch_seconds']:.3f} s, "
                     f"evaluation {s['lightgcn']['evaluation_seconds']:.3f} s")
    if "knn" in report:
        g = report["knn"]
        lines.append(f"exact kNN {g['n_items']} x {g['dim']}, k = {g['k']}: {g['seconds']:.2f} s, "
                     f"overlap with float64 on {g['sampled_rows']} rows {g['neighbour_overlap_with_float64']:.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(prog="python -m siger_kedro.bench.device", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    pack = commands.add_parser("bundle", help="pack a dataset's stage outputs for the device machine")
    pack.add_argument("--data", type=Path, default=Path("data"))
    pack.add_argument("--dataset", default="ml-100k")
    pack.add_argument("--out", type=Path, default=Path(".device/bundle"))
    check = commands.add_parser("run", help="run the check")
    check.add_argument("--bundle", type=Path, default=Path(".device/bundle"))
    check.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    check.add_argument("--epochs", type=int, default=3)
    check.add_argument("--models", nargs="+", default=list(MODELS))
    check.add_argument("--tolerance", type=float, default=0.02)
    check.add_argument("--synthetic", type=int, default=SPORTS[2], help="interactions; 0 = skip")
    check.add_argument("--knn-items", type=int, default=100_000, help="items of the device kNN; 0 = skip")
    check.add_argument("--out", type=Path, default=Path("device.json"))
    args = parser.parse_args(argv)
    if args.command == "bundle":
        print(make_bundle(args.data, args.dataset, args.out))
        return None
    report = run(args.bundle, torch.device(args.device), args.epochs, args.models, args.tolerance, args.synthetic or None,
                 knn_items=args.knn_items or None)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(table(report))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
