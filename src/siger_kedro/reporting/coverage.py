"""The paper's Figure 1 from graphs.coverage.coverage_counts."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: figures are only saved
import matplotlib.pyplot as plt


def coverage_chart(counts: dict[str, dict], title: str) -> plt.Figure:
    """Grouped bars, one group per number of co-occurring items captured, one bar per graph (the
    paper's Figure 1)."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    width = 0.8 / max(len(counts), 1)
    for i, (name, c) in enumerate(counts.items()):
        xs = [int(n) for n in c["items_capturing"]]
        ax.bar([x + (i - (len(counts) - 1) / 2) * width for x in xs], list(c["items_capturing"].values()),
               width=width, label=f"{name} (mean {c['mean_captured']:.2f})")
    ax.set(xlabel="top co-occurring items that are also graph neighbours", ylabel="items", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
