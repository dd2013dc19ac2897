"""How the tie rule shapes SIGER's item graphs on MovieLens-100k: the former rule (ties to the
lower id, the item itself a candidate like any other) against the current one (the item itself
always kept, ties by a hash of the pair), for the genre kNN graph (K_m = 10) and the
co-occurrence graph (K_c = 5). `--features PATH.npy` adds any other modality (e.g. the
features stage's data/04_feature/ml-100k/text_feat.npy).

    python -m siger_kedro.bench.graph_degrees [--features data/04_feature/ml-100k/text_feat.npy]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..data.prepare import align_items, prepare_interactions
from ..data.raw import packaged_dataset_folder, read_raw_folder
from ..data.split import TRAIN
from ..features.multi_hot import multi_hot
from ..graphs.cooccurrence import cooccurrence_graph
from ..graphs.knn import knn_graph
from ..storage import atomic_path

RULES = {"former (lower id, self a candidate)": {"ties": "lowest_id", "keep_self": False},
         "current (self kept, hashed ties)": {"ties": "hash", "keep_self": True}}


def degree_summary(g: sp.csr_matrix, hubs: int = 20, self_loops: bool = True) -> dict[str, float]:
    """In-degree concentration of a top-K graph: the largest in-degree, the share of all edges
    that go into the `hubs` items with the most, rows without edges, and (for a graph that
    should hold them) rows missing themselves."""
    indegree = np.bincount(g.indices, minlength=g.shape[1])
    summary = {
        "max_in_degree": int(indegree.max(initial=0)),
        f"share_into_top_{hubs}": float(np.sort(indegree)[::-1][:hubs].sum() / max(g.nnz, 1)),
        "empty_rows": int((np.diff(g.indptr) == 0).sum()),
    }
    if self_loops:
        summary["rows_without_self"] = int((g.diagonal() == 0).sum())
    return summary


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", type=Path, nargs="*", default=[], help="extra <modality>_feat.npy files")
    parser.add_argument("--out", type=Path, default=Path("data/08_reporting/bench/graph_degrees.json"))
    args = parser.parse_args(argv)
    raw = read_raw_folder(packaged_dataset_folder("ml-100k"), "ml-100k")
    interactions, _, item_ids, info = prepare_interactions(raw, seed=2024)
    modalities = {"genre": multi_hot(align_items(raw.items, item_ids), "class")[0]}
    modalities |= {p.name.removesuffix("_feat.npy"): np.load(p, allow_pickle=False) for p in args.features}
    train = interactions[interactions["split"] == TRAIN]
    report = {}
    for rule, options in RULES.items():
        graphs = {f"knn {m} (K=10)": knn_graph(x, k=10, **options) for m, x in modalities.items()}
        graphs["co-occurrence (K=5)"] = cooccurrence_graph(train["user"].to_numpy(), train["item"].to_numpy(),
                                                           info["n_users"], info["n_items"], k=5, ties=options["ties"])
        report[rule] = {name: degree_summary(g, self_loops=name.startswith("knn")) for name, g in graphs.items()}
    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps(report, indent=1))
    for rule, graphs in report.items():
        print(f"\n{rule}")
        for name, summary in graphs.items():
            print(f"  {name:24s} " + "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                              for k, v in summary.items()))
    return report


if __name__ == "__main__":
    main()
