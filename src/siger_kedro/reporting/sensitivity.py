"""The paper's Figures 4-5 from the sensitivity pipeline's sweeps: per parameter and value, valid
and test scores (mean ± std over seeds), the best value per parameter chosen on validation."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: figures are only saved
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .comparison import summarize_splits

METRICS = {"recall@20": "R@20", "ndcg@20": "N@20"}
SPLITS = {"valid": "valid", "test": "test"}


def sensitivity_table(sweeps: list[dict], metrics: dict[str, str] = METRICS, select: str = "R@20") -> pd.DataFrame:
    """One row per parameter and value. `sweeps`: per parameter {"parameter", "default",
    "values": [{"value", "seeds": [per-seed records]}]}. `default` marks the value SIGER uses,
    `best` the value with the highest mean validation `select` within its parameter (a tie,
    common on small data where Recall@20 saturates, goes to the next metric, then the first)."""
    order = [select, *(label for label in metrics.values() if label != select)]
    frames = []
    for sweep in sweeps:
        values = [v["value"] for v in sweep["values"]]
        part = summarize_splits([{"model": i, "seeds": v["seeds"]} for i, v in enumerate(sweep["values"])],
                                metrics, SPLITS).drop(columns="model")
        best = max(range(len(part)), key=lambda i: tuple(part[f"valid {label} mean"].iloc[i] for label in order))
        part.insert(0, "parameter", sweep["parameter"])
        part.insert(1, "value", pd.Series(values, dtype=object))  # object: ints stay ints beside floats
        part.insert(2, "default", [v == sweep["default"] for v in values])
        part.insert(3, "best", part.index == best)
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def _spread(row: pd.Series, label: str) -> str:
    cell = f"{row[f'{label} mean']:.4f}"
    return cell + (f" ± {row[f'{label} std']:.4f}" if row["seeds"] > 1 else "")


def sensitivity_markdown(table: pd.DataFrame, title: str, labels: dict[str, str] | None = None,
                         metrics: dict[str, str] = METRICS) -> str:
    """The table with each parameter's best value (on validation) in bold."""
    columns = [f"{split} {label}" for split in SPLITS.values() for label in metrics.values()]
    lines = [f"### {title}", "", "| parameter | value | " + " | ".join(columns) + " | seeds |",
             "|---|---:|" + "---:|" * (len(columns) + 1)]
    for _, row in table.iterrows():
        name = (labels or {}).get(row["parameter"], row["parameter"])
        notes = [n for n, on in (("default", row["default"]), ("best", row["best"])) if on]
        value = f"{row['value']:g}" + (f" ({', '.join(notes)})" if notes else "")
        cells = [_spread(row, c) for c in columns]
        if row["best"]:
            value, cells = f"**{value}**", [f"**{c}**" for c in cells]
        lines.append(f"| {name} | {value} | " + " | ".join(cells) + f" | {row['seeds']} |")
    return "\n".join(lines) + "\n"


def sensitivity_figure(table: pd.DataFrame, title: str, labels: dict[str, str] | None = None,
                       metrics: dict[str, str] = METRICS) -> plt.Figure:
    """One panel per parameter: each metric against the parameter's values (evenly spaced, as in
    the paper), test as a solid line and valid dashed, each with a band of ± one std over
    seeds; a dotted line at the best value on validation."""
    parameters = list(dict.fromkeys(table["parameter"]))
    fig, axes = plt.subplots(1, len(parameters), figsize=(3.4 * len(parameters) + 0.6, 3.6), squeeze=False)
    colours = plt.get_cmap("tab10").colors
    for ax, parameter in zip(axes[0], parameters):
        rows = table[table["parameter"] == parameter].reset_index(drop=True)
        x = np.arange(len(rows))
        for j, label in enumerate(metrics.values()):
            for split, style in (("test", "-"), ("valid", "--")):
                mean, std = rows[f"{split} {label} mean"].to_numpy(float), rows[f"{split} {label} std"].to_numpy(float)
                ax.plot(x, mean, style, marker="o", markersize=4, color=colours[j], label=f"{split} {label}")
                ax.fill_between(x, mean - std, mean + std, color=colours[j], alpha=0.12 if split == "test" else 0.06)
        ax.axvline(int(np.flatnonzero(rows["best"])[0]), color="grey", linestyle=":", label="best on valid")
        ticks = [f"{v:g}" + ("*" if d else "") for v, d in zip(rows["value"], rows["default"])]
        ax.set_xticks(x, ticks)
        ax.set_xlabel(f"{(labels or {}).get(parameter, parameter)} (* SIGER's)")
    axes[0][0].set_ylabel("score (band: ± std over seeds)")
    axes[0][0].legend(fontsize="x-small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
