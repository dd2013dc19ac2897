"""Item graphs for SIGER: co-occurrence, semantic kNN, normalisation, EISG mix."""

from .cooccurrence import cooccurrence_graph
from .knn import knn_graph
from .normalize import (
    interaction_matrix,
    mix_graphs,
    normalize_bipartite,
    normalize_square,
    ui_adjacency,
)
from .topk import stack_rows, topk_rows

__all__ = [
    "cooccurrence_graph",
    "interaction_matrix",
    "knn_graph",
    "mix_graphs",
    "normalize_bipartite",
    "normalize_square",
    "stack_rows",
    "topk_rows",
    "ui_adjacency",
]
