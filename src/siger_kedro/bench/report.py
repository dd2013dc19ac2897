"""The benchmark's outputs: JSON, a log-log plot, an MLflow run and a printed table."""
from __future__ import annotations

import json
import time
from pathlib import Path

from ..reporting.mlflow_names import mlflow_key

# (JSON path of a series, its x label) for the plot; each series is a list of {"size", "seconds"}.
SERIES = {
    ("graph_scaling", "cooccurrence"): "training interactions",
    ("graph_scaling", "knn"): "items (384-d)",
    ("epoch_scaling", "lightgcn"): "training interactions",
}


def flatten(tree, prefix: str = "") -> dict[str, float]:
    """Numeric leaves as {"a.b.c": value}; a series point is keyed by its size
    (`graph_scaling.knn.10000.seconds`) or process count (`processes.siger.2.epoch_seconds`). Names keep only characters MLflow accepts."""
    out = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(tree, list):  # a series; other lists (notes) are not numbers
        for point in (p for p in tree if isinstance(p, dict)):
            key = "size" if "size" in point else "processes"  # what the series varies
            out.update(flatten({k: v for k, v in point.items() if k != key}, f"{prefix}{point[key]}."))
    elif isinstance(tree, (int, float)):  # bools included: logged as 0/1
        out[mlflow_key(prefix[:-1])] = float(tree)
    return out


def plot(report: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(SERIES), figsize=(5 * len(SERIES), 4))
    for ax, ((section, name), xlabel) in zip(axes, SERIES.items()):
        points = report[section][name]
        x = [p["size"] for p in points]
        y = [p["seconds"] for p in points]
        ax.loglog(x, y, "o-", label="measured")
        # linear scaling through the first point, to read the slope against
        ax.loglog(x, [y[0] * s / x[0] for s in x], "--", color="grey", label="linear")
        ax.set(title=f"{section}: {name}", xlabel=xlabel, ylabel="seconds")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def log_mlflow(report: dict, files: list[Path], tracking_uri: str, experiment: str) -> str:
    """One run holding every number as a metric, the environment as params, and the files.
    A client bound to `tracking_uri`, not mlflow's global URI, so a caller's setting is kept."""
    from mlflow.entities import Metric, Param, RunStatus
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    run_id = client.create_run(found.experiment_id if found else client.create_experiment(experiment),
                               run_name=f"bench-{report['sizes_scale']}").info.run_id
    try:
        now = int(time.time() * 1000)
        numbers = flatten({k: v for k, v in report.items() if k != "environment"})
        metrics = [Metric(k, v, now, 0) for k, v in numbers.items()]
        params = [Param(f"env.{k}", str(v)) for k, v in report["environment"].items()]
        params += [Param("sizes_scale", report["sizes_scale"]), Param("device", report["device"])]
        for i in range(0, len(metrics), 1000):  # log_batch takes at most 1000 metrics
            client.log_batch(run_id, metrics=metrics[i : i + 1000], params=params if i == 0 else [])
        for f in files:
            client.log_artifact(run_id, str(f))
    except BaseException:
        client.set_terminated(run_id, RunStatus.to_string(RunStatus.FAILED))
        raise
    client.set_terminated(run_id)
    return run_id


def write(report: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "bench.json"
    path.write_text(json.dumps(report, indent=2))
    return [path, plot(report, out / "scaling.png")]


def _ms(s: float) -> str:
    return f"{s * 1e3:10.1f} ms"


def summary(r: dict) -> str:
    """A readable table of the main numbers."""
    lines = [f"siger-kedro benchmark ({r['sizes_scale']}, device {r['device']})",
             "environment: " + ", ".join(f"{k} {v}" for k, v in r["environment"].items())]
    lines += [f"note: {n}" for n in r["notes"]]
    ing = r["ingestion"]
    lines += ["", f"ML-100k ingestion (read + prepare)   {_ms(ing['seconds'])}  "
                  f"({ing['n_users']} users, {ing['n_items']} items, {ing['n_train']} train)"]
    lines += ["", f"{'ML-100k epoch':<14}{'epoch':>13}{'sampling':>13}{'fwd+loss':>13}{'backward':>13}"
                  f"{'optim':>13}{'floor mm':>13}{'floor op':>13}{'ep/mm':>7}{'ep/op':>7}"]
    for name, e in r["ml100k_epoch"].items():
        p, f = e["phases"], e["floor"]
        lines.append(f"{name:<14}" + "".join(f"{_ms(v):>13}" for v in (
            e["seconds"], p["sampling"], p["forward_losses"], p["backward"], p["optimizer_step"],
            f["torch_sparse_mm_seconds"], f["sparse_operator_seconds"]))
            + f"{e['epoch_over_floor_torch_sparse_mm']:7.1f}{e['epoch_over_floor_sparse_operator']:7.1f}"
            + f"  ({e['n_batches']} batches{'' if e['full_epoch'] else ', cut short'})")
    lines.append("  floor = the unavoidable sparse propagations, fwd + bwd: mm = torch.sparse.mm autograd, "
                 "op = SparseOperator")
    b = r["siger_breakdown_ms"]
    lines += ["", f"SIGER batch, forward + backward by part ({b['unique_users']} unique users, "
                  f"{b['unique_items']} unique items, {b['info_nce_terms']} InfoNCE terms):"]
    lines += [f"  {name:<50}{ms:10.1f} ms" for name, ms in b.items() if isinstance(ms, float)]
    ev = r["evaluation"]
    lines += ["", f"ML-100k evaluation ({ev['n_users']} users x {ev['n_items']} items): "
                  f"Evaluator.evaluate {_ms(ev['evaluate_seconds']).strip()} "
                  f"(first call {_ms(ev['evaluate_first_seconds']).strip()}), bare score+mask+top-{ev['k']} "
                  f"{_ms(ev['bare_topk_seconds']).strip()}, ratio {ev['evaluate_over_bare']:.2f}"]
    for (section, name), xlabel in SERIES.items():
        graph = section == "graph_scaling"
        extra = "peak RSS +" if graph else "batches"
        lines += ["", f"{section}: {name}  ({xlabel})", f"{'size':>10}{'time':>14}{extra:>14}"]
        for p in r[section][name]:
            more = f"{p['peak_rss_growth_mb']:10.1f} MB" if graph else f"{p['n_batches']}"
            lines.append(f"{p['size']:>10}{_ms(p['seconds']):>14}{more:>14}")
    for name, points in r.get("processes", {}).items():
        lines += ["", f"ML-100k {name} epoch by processes (CPU, gloo): " + ", ".join(
            f"{p['processes']}: {_ms(p['epoch_seconds']).strip()}" for p in points)]
    m = r["memory"]
    lines += ["", f"peak RSS: run {m['peak_rss_mb']:.0f} MB, "
                  f"graph workers {m['graph_workers_peak_rss_mb']:.0f} MB"
                  + (f", CUDA {m['cuda_peak_mb']:.0f} MB" if "cuda_peak_mb" in m else "")]
    return "\n".join(lines)
