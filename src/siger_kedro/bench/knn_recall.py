"""Exact vs faiss kNN graph build: time, peak memory and recall against catalogue size.

    python -m siger_kedro.bench.knn_recall [--items 10000 100000 ...] [--dim 384] [--noise 2]
        [--k 10] [--nprobe 16 ...] [--nlist N] [--exact-max 100000] [--sample 1000]
        [--sweep] [--out FILE.json]

Features are generated, clustered like real embeddings: clusters of ~100 items, centres
N(0, 1) and noise N(0, noise^2) per dimension, so the cosine is about 1 / (1 + noise^2) within
a cluster (0.2 at the default --noise 2) and about 0 between clusters.

Graph mode (default): every build runs in a fresh worker process, so that its peak RSS is its
own; the peak is restarted after the features are generated (where Linux allows) and so covers
the build, with the features still held. The exact graph is built only up to --exact-max items
(default 10^5: it grows as n^2); recall is the fraction of its edges that the faiss graph also
has. At every size, recall is also measured on --sample random rows against their exact rows
(`knn_rows`, one block of columns at a time), affordable at 10^6 items.

--sweep: no whole graph. One worker per size builds the faiss index once (timed, peak RSS),
then searches only the sample rows at each --nprobe: recall against their exact rows and
seconds per row. `graph_seconds_extrapolated` = index build + items x seconds per row, an
extrapolation from the sample, labelled as such in the JSON.

Writes data/08_reporting/bench/knn_recall.json by default.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .memory import peak_rss_mb, run_worker, timed_with_peak

MODULE = "siger_kedro.bench.knn_recall"  # not __name__: that is "__main__" under -m
CLUSTER_SIZE = 100
DEFAULT_OUT = Path("data/08_reporting/bench/knn_recall.json")


def clustered_features(n: int, dim: int, noise: float = 2.0, seed: int = 0) -> np.ndarray:
    """n x dim float32 rows around n / CLUSTER_SIZE random N(0, 1) centres plus N(0, noise^2)
    noise, built in blocks. Cosine within a cluster is about 1 / (1 + noise^2)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // CLUSTER_SIZE), dim), dtype=np.float32)
    assign = rng.integers(0, len(centres), n)
    x = np.empty((n, dim), dtype=np.float32)
    step = 1 << 16
    for start in range(0, n, step):
        stop = min(start + step, n)
        x[start:stop] = rng.standard_normal((stop - start, dim), dtype=np.float32)
        x[start:stop] *= noise
        x[start:stop] += centres[assign[start:stop]]
    return x


def sample_rows(n: int, sample: int) -> np.ndarray:
    return np.sort(np.random.default_rng(1).choice(n, min(sample, n), replace=False))


def _faiss_settings(n: int, nlist: int | None) -> dict:
    import faiss

    from ..graphs.approximate_knn import default_nlist

    return {"nlist": default_nlist(n) if nlist is None else nlist, "threads": faiss.omp_get_max_threads()}


def _graph_worker(kind: str, n: int, dim: int, noise: float, k: int, nprobe: int,
                  nlist: int | None, out: Path) -> dict:
    """One whole graph in this process: generate, restart the peak, build, save the graph."""
    from ..graphs.approximate_knn import faiss_knn_graph
    from ..graphs.knn import knn_graph

    x = clustered_features(n, dim, noise)
    if kind == "exact":
        build, settings = (lambda: knn_graph(x, k=k)), {}  # noqa: E731
    else:
        settings = _faiss_settings(n, nlist)
        settings["nprobe"] = min(nprobe, settings["nlist"])
        build = lambda: faiss_knn_graph(x, k=k, nlist=settings["nlist"], nprobe=nprobe)  # noqa: E731
    graph, seconds, memory = timed_with_peak(build)
    sp.save_npz(out, graph)
    return {"build": kind, **settings, "seconds": seconds, **memory,
            "features_mb": x.nbytes / 2**20, "nnz": int(graph.nnz)}


def _sweep_worker(n: int, dim: int, noise: float, k: int, nprobes: list[int], nlist: int | None,
                  sample: int) -> dict:
    """The faiss index once (timed), then the sample rows at each nprobe against exact rows."""
    from ..graphs.approximate_knn import FaissKnnIndex, knn_recall, knn_rows

    x = clustered_features(n, dim, noise)
    settings = _faiss_settings(n, nlist)
    index, index_seconds, memory = timed_with_peak(lambda: FaissKnnIndex(x, nlist=settings["nlist"]))
    rows = sample_rows(n, sample)
    start = time.perf_counter()
    exact = knn_rows(x, rows, k)
    exact_seconds = time.perf_counter() - start
    sweep = []
    for nprobe in nprobes:
        start = time.perf_counter()
        found = index.rows(rows, k, nprobe)
        per_row = (time.perf_counter() - start) / rows.size
        sweep.append({"nprobe": min(nprobe, settings["nlist"]), "seconds_per_row": per_row,
                      "recall_sampled": knn_recall(found, exact),
                      "graph_seconds_extrapolated": index_seconds + n * per_row})
    return {"build": "faiss index", **settings, "index_seconds": index_seconds, **memory,
            "features_mb": x.nbytes / 2**20, "sample_rows": int(rows.size),
            "exact_rows_seconds": exact_seconds, "sweep": sweep}


def _common(n: int, dim: int, noise: float, k: int, nlist: int | None) -> list[str]:
    out = ["--items", str(n), "--dim", str(dim), "--noise", repr(noise), "--k", str(k)]
    return out + (["--nlist", str(nlist)] if nlist is not None else [])


def measure(sizes: list[int], dim: int, noise: float, k: int, nprobes: list[int], nlist: int | None,
            exact_max: int, sample: int, timeout: float = 3600, log=print) -> list[dict]:
    """Graph mode: whole graphs, exact (up to exact_max) and faiss at each nprobe."""
    from ..graphs.approximate_knn import knn_recall, knn_rows

    points = []
    with tempfile.TemporaryDirectory() as tmp:
        exact_file, faiss_file = Path(tmp) / "exact.npz", Path(tmp) / "faiss.npz"
        for n in sorted(sizes):
            common = _common(n, dim, noise, k, nlist)
            point = {"items": n, "dim": dim, "noise": noise, "k": k, "exact": None, "faiss": []}
            exact = None
            if n <= exact_max:
                point["exact"] = run_worker(MODULE, ["--worker", "exact", *common, "--graph-out", str(exact_file)], timeout)
                exact = sp.load_npz(exact_file)
                log(f"{n:>9,} items  exact            {point['exact']['seconds']:8.1f} s "
                    f"{point['exact']['peak_rss_mb']:8.0f} MiB peak RSS")
            x = clustered_features(n, dim, noise)
            rows = sample_rows(n, sample)
            start = time.perf_counter()
            exact_sample = knn_rows(x, rows, k)
            point["sample"] = {"rows": int(rows.size), "exact_rows_seconds": time.perf_counter() - start}
            del x
            for nprobe in nprobes:
                f = run_worker(MODULE, ["--worker", "faiss", *common, "--nprobe", str(nprobe),
                                 "--graph-out", str(faiss_file)], timeout)
                graph = sp.load_npz(faiss_file)
                f["recall_sampled"] = knn_recall(graph[rows], exact_sample)
                f["recall"] = knn_recall(graph, exact) if exact is not None else None
                if exact is not None:
                    f["speedup"] = point["exact"]["seconds"] / f["seconds"]
                point["faiss"].append(f)
                full = f"recall {f['recall']:.4f}, " if f["recall"] is not None else ""
                log(f"{n:>9,} items  faiss nprobe {f['nprobe']:>3} {f['seconds']:8.1f} s "
                    f"{f['peak_rss_mb']:8.0f} MiB peak RSS  nlist {f['nlist']}  {full}"
                    f"sampled recall {f['recall_sampled']:.4f} ({rows.size} rows)")
            points.append(point)
    return points


def sweep(sizes: list[int], dim: int, noise: float, k: int, nprobes: list[int], nlist: int | None,
          sample: int, timeout: float = 3600, log=print) -> list[dict]:
    """Sweep mode: one index per size, recall and search time of the sample rows per nprobe."""
    points = []
    for n in sorted(sizes):
        w = run_worker(MODULE, ["--worker", "sweep", *_common(n, dim, noise, k, nlist), "--sample", str(sample),
                         "--nprobe", *map(str, nprobes)], timeout)
        log(f"{n:>9,} items  faiss index (nlist {w['nlist']}) {w['index_seconds']:8.1f} s "
            f"{w['peak_rss_mb']:8.0f} MiB peak RSS")
        for s in w["sweep"]:
            log(f"{'':>16}nprobe {s['nprobe']:>4}: sampled recall {s['recall_sampled']:.4f} "
                f"({w['sample_rows']} rows), {1e3 * s['seconds_per_row']:.2f} ms per row, whole "
                f"graph ~{s['graph_seconds_extrapolated']:.0f} s (extrapolated)")
        points.append({"items": n, "dim": dim, "noise": noise, "k": k, "faiss_index": w})
    return points


def main(argv: list[str] | None = None) -> dict | None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--dim", type=int, default=384, help="feature width (MiniLM: 384)")
    parser.add_argument("--noise", type=float, default=2.0,
                        help="noise std around the cluster centres (larger: weaker clusters, harder)")
    parser.add_argument("--k", type=int, default=10, help="neighbours per item (graphs.knn_k)")
    parser.add_argument("--nprobe", type=int, nargs="+", default=[16], help="faiss lists searched")
    parser.add_argument("--nlist", type=int, help="faiss lists (default about 4 sqrt(items))")
    parser.add_argument("--exact-max", type=int, default=100_000,
                        help="largest size at which the exact graph is built (default 10^5)")
    parser.add_argument("--sample", type=int, default=1000, help="rows for the sampled recall")
    parser.add_argument("--sweep", action="store_true",
                        help="index once per size, sample rows only (no whole graphs)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--worker", choices=["exact", "faiss", "sweep"], help=argparse.SUPPRESS)
    parser.add_argument("--graph-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker == "sweep":
        print(json.dumps(_sweep_worker(args.items[0], args.dim, args.noise, args.k, args.nprobe,
                                       args.nlist, args.sample)))
        return None
    if args.worker:
        print(json.dumps(_graph_worker(args.worker, args.items[0], args.dim, args.noise, args.k,
                                       args.nprobe[0], args.nlist, args.graph_out)))
        return None
    import faiss

    from .features import environment

    start = time.perf_counter()
    if args.sweep:
        points = sweep(args.items, args.dim, args.noise, args.k, args.nprobe, args.nlist, args.sample)
    else:
        points = measure(args.items, args.dim, args.noise, args.k, args.nprobe, args.nlist,
                         args.exact_max, args.sample)
    result = {
        "command": f"python -m {MODULE} " + " ".join(argv),
        "notes": [f"clustered generated features: clusters of ~{CLUSTER_SIZE} items, centres "
                  f"N(0, 1) and noise N(0, {args.noise}^2) per dimension",
                  "sweep mode: the index once per size, only the sample rows searched; "
                  "graph_seconds_extrapolated = index_seconds + items x seconds_per_row"
                  if args.sweep else
                  f"exact graph built up to {args.exact_max} items; recall_sampled: {args.sample} "
                  "random rows against their exact rows",
                  "seconds: build only (features generated before); peak_rss_mb: the worker's "
                  "VmHWM, restarted after generating the features when peak_is_build_only"],
        "environment": {**environment(), "faiss": faiss.__version__},
        "points": points,
        "parent_peak_rss_mb": peak_rss_mb(),
        "total_seconds": time.perf_counter() - start,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}; {result['total_seconds']:.0f} s")
    return result


if __name__ == "__main__":
    main()
