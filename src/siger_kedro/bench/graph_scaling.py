"""Item-graph build time and peak memory against input size, one fresh process per size.

A process's peak RSS only grows, so each size runs in its own interpreter
(`python -m siger_kedro.bench.graph_scaling KIND SIZE`), which prints one JSON line. The
inputs are generated first; the peak is then restarted (where Linux allows) so it covers the
build alone. No torch import: a worker starts in well under a second.
"""
from __future__ import annotations

import json
import sys

import numpy as np

from .memory import run_worker, timed_with_peak
from .synthetic import interactions

KNN_DIM = 384  # a MiniLM-sized text embedding
COOCCURRENCE_K, KNN_K = 5, 10  # conf/base/parameters: graphs.cooccurrence_k, graphs.knn_k


def _build(kind: str, size: int) -> dict:
    from ..graphs import cooccurrence_graph, knn_graph

    if kind == "cooccurrence":
        users, items, n_users, n_items = interactions(size)
        shape = {"n_users": n_users, "n_items": n_items}
        build = lambda: cooccurrence_graph(users, items, n_users, n_items, k=COOCCURRENCE_K)  # noqa: E731
    elif kind == "knn":
        x = np.random.default_rng(0).standard_normal((size, KNN_DIM), dtype=np.float32)
        shape = {"n_items": size, "dim": KNN_DIM}
        build = lambda: knn_graph(x, k=KNN_K)  # noqa: E731
    else:
        raise ValueError(f"unknown graph kind {kind!r}")
    graph, seconds, memory = timed_with_peak(build)
    return {"size": size, **shape, "nnz": int(graph.nnz), "seconds": seconds, **memory}


def measure(kind: str, sizes: list[int], timeout: float = 900) -> list[dict]:
    """One point per size, each from a fresh worker process, sorted by size."""
    return [run_worker(__name__, [kind, str(size)], timeout) for size in sorted(sizes)]


if __name__ == "__main__":
    print(json.dumps(_build(sys.argv[1], int(sys.argv[2]))))
