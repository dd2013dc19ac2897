"""A run's training curve from its per-epoch history: loss, validation metric and, when the
trainer logged them (`training.term_gradients`), each loss term's weighted gradient norm on the
user and item ID tables and its share of their sum (which term drives training)."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")  # headless: figures are only saved
import matplotlib.pyplot as plt

TABLES = ("user", "item")


def gradient_norms(history: list[dict]) -> dict[str, dict[str, list[float]]]:
    """{table: {term: norm per epoch}} from the history's `grad_<term>_<table>` entries; NaN
    where an epoch has no entry."""
    keys = sorted({k for h in history for k in h if k.startswith("grad_")})
    norms: dict[str, dict[str, list[float]]] = {t: {} for t in TABLES}
    for key in keys:
        term, table = key.removeprefix("grad_").rsplit("_", 1)
        norms[table][term] = [float(h.get(key, math.nan)) for h in history]
    return {t: terms for t, terms in norms.items() if terms}


def gradient_shares(history: list[dict]) -> dict[str, dict[str, list[float]]]:
    """{table: {term: share per epoch}}: each term's norm over the sum of the terms' norms on
    that table in that epoch (the shares of an epoch sum to 1; NaN where nothing was logged).
    A share of norms, not of one gradient: terms pulling in opposite directions still add."""
    shares = {}
    for table, terms in gradient_norms(history).items():
        totals = [sum(v for v in epoch if not math.isnan(v)) for epoch in zip(*terms.values())]
        shares[table] = {term: [v / s if s > 0 and not math.isnan(v) else math.nan for v, s in zip(values, totals)]
                         for term, values in terms.items()}
    return shares


def training_curve(history: list[dict], model: str, metric: str) -> plt.Figure:
    """Training loss and `metric` (a history key) per epoch; with logged term gradients, two more
    panels: each term's gradient norm (log scale) and its share, solid on the item table, dashed
    on the user table, one colour per term."""
    epochs = [h["epoch"] for h in history]
    norms, shares = gradient_norms(history), gradient_shares(history)
    fig, axes = plt.subplots(2 if norms else 1, 2, figsize=(11, 8 if norms else 4), squeeze=False)
    axes[0, 0].plot(epochs, [h["train_loss"] for h in history])
    axes[0, 0].set(xlabel="epoch", ylabel="training loss", title=f"{model}: training loss")
    axes[0, 1].plot(epochs, [h.get(metric, math.nan) for h in history])
    axes[0, 1].set(xlabel="epoch", ylabel=metric, title="Validation")
    if norms:
        terms = sorted({term for t in norms.values() for term in t})
        colours = {term: f"C{i}" for i, term in enumerate(terms)}
        for table, style in zip(TABLES, ("--", "-")):
            for term in norms.get(table, {}):
                label = f"{term} ({table})"
                axes[1, 0].plot(epochs, norms[table][term], style, color=colours[term], label=label)
                axes[1, 1].plot(epochs, shares[table][term], style, color=colours[term], label=label)
        axes[1, 0].set(xlabel="epoch", ylabel="weighted gradient norm", yscale="log",
                       title="Gradient of each loss term on the ID tables")
        axes[1, 1].set(xlabel="epoch", ylabel="share of the summed norms", ylim=(0, 1),
                       title="Each term's share of the gradient")
        axes[1, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig
