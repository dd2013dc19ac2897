"""SIGER's graphs (docs/siger.md): user-item adjacency (Eq 1), co-occurrence (Eq 3-5), kNN (Eq 6), EISG (Eq 7)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...data.split import TRAIN
from ...graphs.approximate_knn import faiss_knn_graph
from ...graphs.consistent_knn import consistent_knn_graphs
from ...graphs.cooccurrence import cooccurrence_graph
from ...graphs.knn import knn_graph
from ...graphs.normalize import (
    mix_graphs,
    normalize_bipartite,
    normalize_square,
    split_matrix,
    ui_adjacency,
)


def build_interaction_graphs(interactions: pd.DataFrame, info: dict) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Training interactions only: the normalised (U+I)² adjacency and the normalised U×I block."""
    r = split_matrix(interactions, TRAIN, info["n_users"], info["n_items"])
    return ui_adjacency(r), normalize_bipartite(r)


# Each node takes only the parameters it uses, so that changing one rebuilds only its graph.
def build_cooccurrence_graph(interactions: pd.DataFrame, info: dict, k: int) -> sp.csr_matrix:
    train = interactions[interactions["split"] == TRAIN]
    c = cooccurrence_graph(
        train["user"].to_numpy(), train["item"].to_numpy(), info["n_users"], info["n_items"], k=k
    )
    return normalize_square(c)


KNN_BACKENDS = {"exact": knn_graph, "faiss": faiss_knn_graph}


def build_modality_graphs(features: dict[str, np.ndarray], k: int, backend: str = "exact") -> dict[str, sp.csr_matrix]:
    """Each modality's unnormalised top-k (1 + cos) / 2 graph (Eq 6), which SIGER normalises
    and the kNN baselines (FREEDOM, LATTICE, MGCN) derive theirs from. backend: "exact"
    (chunked exact top-k) or "faiss" (IVF index search, same values; needs the optional faiss
    extra) -- graphs.knn_backend."""
    if backend not in KNN_BACKENDS:
        raise ValueError(f"graphs.knn_backend must be one of {', '.join(KNN_BACKENDS)}; got {backend!r}")
    build = KNN_BACKENDS[backend]
    return {m: build(x, k=k) for m, x in features.items()}


def build_consistent_knn_graphs(features: dict[str, np.ndarray], k: int) -> dict[str, sp.csr_matrix]:
    """DA-MRS's denoised top-k graphs, an edge kept only if similar in every modality."""
    return consistent_knn_graphs(features, k=k) if features else {}


def build_eisg(cooccurrence: sp.csr_matrix, modality_graphs: dict[str, sp.csr_matrix], beta: float) -> dict[str, sp.csr_matrix]:
    return {m: mix_graphs(cooccurrence, normalize_square(h), beta) for m, h in modality_graphs.items()}
