"""Table 1 of the paper from the compare pipeline's per-model results: mean ± std over seeds,
SIGER's relative improvement over the strongest baseline, and paired tests over seeds."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: figures are only saved
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from .significance import mean_intervals

METRICS = {"recall@10": "R@10", "recall@20": "R@20", "ndcg@10": "N@10", "ndcg@20": "N@20"}


def summarize(results: list[dict], metrics: dict[str, str] = METRICS, split: str = "test") -> pd.DataFrame:
    """One row per model: the mean and std over seeds of each metric, seeds and epochs. Each
    seed's best epoch is kept too: a run stopped in its first epochs (the stopping rule met
    before training took hold) shows there, where a mean would hide it."""
    rows = []
    for r in results:
        runs = r["seeds"]
        row = {"model": r["model"], "seeds": len(runs),
               "mean_best_epoch": float(np.mean([s["best_epoch"] for s in runs])),
               "best_epochs": ", ".join(str(s["best_epoch"]) for s in runs),
               "mean_train_seconds": float(np.mean([s["train_seconds"] for s in runs]))}
        for key, label in metrics.items():
            values = np.array([s[f"{split}_{key}"] for s in runs], dtype=float)
            row[f"{label} mean"] = float(values.mean())
            row[f"{label} std"] = float(values.std(ddof=1)) if values.size > 1 else 0.0
        rows.append(row)
    return pd.DataFrame(rows)



def summary_metrics(row: pd.Series) -> dict[str, float]:
    """A summary row's numbers under MLflow-friendly names (its model and the list of best
    epochs are not metrics)."""
    return {k.replace(" ", "_"): float(v) for k, v in row.drop(["model", "best_epochs"]).items()}


def summarize_splits(results: list[dict], metrics: dict[str, str], splits: dict[str, str]) -> pd.DataFrame:
    """`summarize` once per split (split key -> column prefix), side by side: one row per model,
    columns such as "valid R@20 mean"; seeds and epochs once, from the first split."""
    parts = []
    for split, prefix in splits.items():
        part = summarize(results, metrics, split=split).set_index("model")
        part = part.rename(columns=lambda c, p=prefix: f"{p} {c}" if c.split()[0] in metrics.values() else c)
        parts.append(part if not parts else part[[c for c in part if c.startswith(f"{prefix} ")]])
    return pd.concat(parts, axis=1).reset_index()

def improvement(table: pd.DataFrame, model: str = "siger", metrics: dict[str, str] = METRICS) -> dict[str, float]:
    """(model - best other model) / best other model, per metric, on the means."""
    if model not in set(table["model"]) or len(table) < 2:
        return {}
    mine = table.set_index("model").loc[model]
    others = table[table["model"] != model]
    best = {label: others[f"{label} mean"].max() for label in metrics.values()}
    return {label: float((mine[f"{label} mean"] - best[label]) / best[label]) if best[label] > 0 else float("nan")
            for label in metrics.values()}


def paired_seed_tests(results: list[dict], model: str = "siger", metrics: dict[str, str] = METRICS,
                      split: str = "test") -> pd.DataFrame:
    """`model` against each other model on the seeds both ran: the mean difference per metric
    and the two-sided p-value of a paired t-test over those seeds (NaN below two). Seeds
    change initialisation and sampling only, not the split: this says whether a difference
    outlasts training noise, not whether it would hold on other data."""
    by_model = {r["model"]: {s["seed"]: s for s in r["seeds"]} for r in results}
    if model not in by_model:
        return pd.DataFrame()
    rows = []
    for other, runs in by_model.items():
        seeds = sorted(set(runs) & set(by_model[model]))
        if other == model or not seeds:
            continue
        row = {"model": other, "seeds": len(seeds)}
        for key, label in metrics.items():
            a = np.array([by_model[model][s][f"{split}_{key}"] for s in seeds], dtype=float)
            b = np.array([runs[s][f"{split}_{key}"] for s in seeds], dtype=float)
            row[f"{label} diff"] = float((a - b).mean())
            row[f"{label} p"] = float(stats.ttest_rel(a, b).pvalue) if len(seeds) > 1 and np.any(a != b) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def markdown_tests(tests: pd.DataFrame, model: str = "siger", metrics: dict[str, str] = METRICS,
                   split: str = "test") -> str:
    if tests.empty:
        return ""
    labels = list(metrics.values())
    lines = [f"{model} minus each model on {split}, mean over shared seeds (paired t-test p-value):", "",
             "| model | " + " | ".join(labels) + " | seeds |", "|---|" + "---:|" * (len(labels) + 1)]
    for _, row in tests.iterrows():
        cells = [f"{row[f'{l} diff']:+.4f} (p={row[f'{l} p']:.3f})" for l in labels]
        lines.append(f"| {row['model']} | " + " | ".join(cells) + f" | {row['seeds']} |")
    return "\n".join(lines) + "\n"


def markdown_table(table: pd.DataFrame, title: str, metrics: dict[str, str] = METRICS) -> str:
    """Models as rows, metrics as mean ± std columns (the mean alone for one seed), the best mean in bold, SIGER's improvement last."""
    labels = list(metrics.values())
    best = {label: table[f"{label} mean"].max() for label in labels}
    lines = [f"### {title}", "", "| model | " + " | ".join(labels) + " | seeds | best epochs |",
             "|---|" + "---:|" * (len(labels) + 2)]
    for _, row in table.iterrows():
        cells = []
        for label in labels:
            cell = f"{row[f'{label} mean']:.4f}"
            if row["seeds"] > 1:  # one seed has no spread to show
                cell += f" ± {row[f'{label} std']:.4f}"
            cells.append(f"**{cell}**" if row[f"{label} mean"] == best[label] else cell)
        lines.append(f"| {row['model']} | " + " | ".join(cells) + f" | {row['seeds']} | {row['best_epochs']} |")
    gain = improvement(table, metrics=metrics)
    if gain:
        cells = [f"{gain[l]:+.2%}" if np.isfinite(gain[l]) else "n/a" for l in labels]  # n/a: the best other is 0
        lines.append("| improv. (siger vs best other) | " + " | ".join(cells) + " | | |")
    return "\n".join(lines) + "\n"


def user_intervals(per_user: dict[str, pd.DataFrame], metrics: dict[str, str] = METRICS) -> dict[str, dict]:
    """Per model and metric label, the bootstrap 95% interval (over users) of its test mean."""
    return {m: {label: mean_intervals(frame, key)[1:] for key, label in metrics.items()}
            for m, frame in per_user.items()}


def bar_chart(table: pd.DataFrame, title: str, metrics: dict[str, str] = METRICS,
              intervals: dict[str, dict] | None = None, highlight: str = "siger") -> plt.Figure:
    """Grouped bars: one group per metric, one bar per model in a colour of its own, `highlight`
    hatched and outlined. Error bars: the bootstrap 95% interval over users when `intervals`
    (`user_intervals`) are given, else the std over seeds (none for one seed)."""
    labels = list(metrics.values())
    n = len(table)
    width = 0.8 / max(n, 1)
    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(labels) * n / 3), 4.5))
    x = np.arange(len(labels))
    colours = plt.get_cmap("tab20").colors
    for j, (_, row) in enumerate(table.iterrows()):
        means = np.array([row[f"{l} mean"] for l in labels])
        if intervals and row["model"] in intervals:
            bounds = np.array([intervals[row["model"]][l] for l in labels])
            yerr = np.abs(np.stack([means - bounds[:, 0], bounds[:, 1] - means]))
        else:
            yerr = [row[f"{l} std"] for l in labels]
        mine = row["model"] == highlight
        ax.bar(x + (j - (n - 1) / 2) * width, means, width, yerr=yerr, label=row["model"], capsize=2,
               color=colours[(2 * j) % 20 + (2 * j // 20) % 2], hatch="//" if mine else None,
               edgecolor="black" if mine else None, linewidth=1.2 if mine else 0)
    ax.set_xticks(x, labels)
    spread = "95% CI over users" if intervals else "std over seeds"
    ax.set(ylabel=f"test score (mean; bars: {spread})", title=title)
    ax.legend(ncol=4, fontsize="small")
    fig.tight_layout()
    return fig
