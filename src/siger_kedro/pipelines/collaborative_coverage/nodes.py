"""How many of each item's top-K_c co-occurring items its modality kNN graph holds, before and
after the EISG mix (Eq 7): the question behind SIGER (the paper's Figure 1)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import scipy.sparse as sp

from ...graphs.coverage import coverage_counts
from ...reporting.coverage import coverage_chart


def collaborative_coverage(cooccurrence: sp.csr_matrix, knn: dict[str, sp.csr_matrix], eisg: dict[str, sp.csr_matrix],
                           info: dict) -> tuple[dict, plt.Figure]:
    graphs = {**{f"{m} kNN": g for m, g in sorted(knn.items())}, **{f"{m} EISG": g for m, g in sorted(eisg.items())}}
    counts = coverage_counts(cooccurrence, graphs)
    return ({"dataset": info["name"], "graphs": counts},
            coverage_chart(counts, f"{info['name']}: co-occurring items captured by each item graph"))
