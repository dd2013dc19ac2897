"""What every model receives and what the shared training loop asks of it (`Model`,
`ModelModule`; docs/adding-a-model.md walks through adding one).

A model is a `torch.nn.Module` with
- `loss(users, pos, neg) -> {"loss": total, <term>: value, ...}` on a batch of training
  triples (a model that needs no negatives ignores `neg`);
- `embeddings() -> (user_embeddings, item_embeddings)`: scores are their dot products;
- optionally `start_epoch(epoch)`, called before each epoch's first batch (FREEDOM re-prunes
  its user-item graph there, LATTICE rebuilds its learned item graph);
- optionally `term_weights() -> {term: weight}`, each loss term's weight in the total, so that
  the per-epoch gradient diagnostics report weighted gradients (1 where it is absent).

Graphs are computed once per dataset and setting by the pipeline's graphs stage and reach a
model's `build` in `ModelInputs`; a model derives its own variant from them (binary,
cosine-weighted, fewer neighbours), and a model constructor only receives the result.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ..graphs.consistent_knn import consistent_knn_graphs
from ..graphs.knn import knn_graph, nearest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInputs:
    """One dataset's training data and graphs, on the host, as the pipeline stores them."""

    n_users: int
    n_items: int
    train: sp.csr_matrix  # binary users x items training interactions R
    ui_adjacency: sp.csr_matrix  # symmetrically normalised [[0, R], [R^T, 0]] (SIGER Eq 1)
    user_item: sp.csr_matrix  # D_u^-1/2 R D_i^-1/2 (SIGER Eq 11)
    features: dict[str, np.ndarray] = field(default_factory=dict)  # raw item features per modality
    eisg: dict[str, sp.csr_matrix] = field(default_factory=dict)  # SIGER's item graphs (Eq 7)
    cooccurrence: sp.csr_matrix | None = None  # normalised co-occurrence item graph (Eq 3-5)
    # Unnormalised top-K kNN graphs per modality, H = (1 + cos) / 2 (SIGER Eq 6), and DA-MRS's
    # denoised ones (graphs/consistent_knn.py): K = graphs.knn_k. Empty: built on demand.
    knn: dict[str, sp.csr_matrix] = field(default_factory=dict)
    consistent_knn: dict[str, sp.csr_matrix] = field(default_factory=dict)

    @property
    def modalities(self) -> list[str]:
        return sorted(self.features)

    def feature_tensors(self, device: torch.device) -> dict[str, torch.Tensor]:
        return {m: torch.as_tensor(self.features[m], dtype=torch.float32, device=device) for m in self.modalities}

    def knn_graph(self, modality: str, k: int) -> sp.csr_matrix:
        """Modality m's top-k (1 + cos) / 2 graph: the graphs stage's, restricted to k, when it
        kept at least k neighbours; otherwise built here from the features."""
        stored = self.knn.get(modality)
        if stored is not None and k <= _kept(stored):
            return nearest(stored, k)
        _log_built_here("kNN", k)
        return knn_graph(self.features[modality], k=k)

    def consistent_knn_graphs(self, k: int) -> dict[str, sp.csr_matrix]:
        """DA-MRS's denoised top-k graphs over all of `modalities`, from the graphs stage when
        it built them for these modalities with at least k neighbours."""
        if set(self.consistent_knn) == set(self.modalities) and all(
                k <= _kept(g) for g in self.consistent_knn.values()):
            return {m: nearest(g, k) for m, g in self.consistent_knn.items()}
        _log_built_here("denoised kNN", k)
        return consistent_knn_graphs(self.features, k=k)

    def train_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(users, items) of the training interactions, row-major."""
        coo = self.train.tocoo()
        order = np.lexsort((coo.col, coo.row))
        return coo.row[order].astype(np.int64), coo.col[order].astype(np.int64)


def _kept(graph: sp.csr_matrix) -> int:
    """The K a stored top-K graph was built with (its longest row)."""
    return int(np.diff(graph.indptr).max(initial=0))


def _log_built_here(kind: str, k: int) -> None:
    logger.info("%s graphs with k = %d are built in the model: the graphs stage kept fewer "
                "neighbours (raise graphs.knn_k to build them once per dataset)", kind, k)


def split_users_items(e: torch.Tensor, n_users: int) -> tuple[torch.Tensor, torch.Tensor]:
    return e[:n_users], e[n_users:]


def embedding_table(n: int, d: int) -> nn.Parameter:
    """A trainable n x d embedding table, Xavier-uniform initialised (LightGCN's and MMRec's choice)."""
    return nn.Parameter(nn.init.xavier_uniform_(torch.empty(n, d)))


def feature_tables(features: dict[str, torch.Tensor], trainable: bool) -> nn.ParameterDict:
    """The raw item features as parameters of the model: MMRec loads them as embeddings that
    backpropagation fine-tunes (`nn.Embedding.from_pretrained(freeze=False)`); with
    `trainable=False` they stay fixed. Graphs built from them are built before training."""
    return nn.ParameterDict({m: nn.Parameter(x.clone(), requires_grad=trainable) for m, x in features.items()})


def projected_rows(project: nn.Module, features: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """project(features)[rows], as a batch's loss needs it, without torch.unique (on a GPU its
    output size is a host synchronisation every batch). A batch that names at least as many
    rows as the table holds projects the whole table once and picks its rows (repeats cost
    nothing, and the gradient reaches the features as one dense product instead of a
    scatter into a zeroed table); a smaller one projects its own rows."""
    if rows.numel() >= features.shape[0]:
        return project(features).index_select(0, rows)
    return project(features.index_select(0, rows))


def check_choices(model: str, config, choices: dict[str, tuple]) -> None:
    """Each named field of a model's config holds one of its allowed values (a YAML typo fails
    when the model is configured, not epochs later)."""
    for name, allowed in choices.items():
        value = getattr(config, name)
        if value not in allowed:
            raise ValueError(f"{model} {name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")


def require_modalities(model: str, features) -> None:
    if not features:
        raise ValueError(f"{model} needs at least one modality feature, the dataset has none")


@runtime_checkable
class Model(Protocol):
    """What the training loop, the evaluator and the top-K writer call on a built model (an
    `nn.Module`, so that its `parameters()` and `state_dict()` are trained and stored)."""

    def loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> dict[str, torch.Tensor]:
        """The batch's loss terms, the total under "loss"; every term is logged per epoch."""
        ...

    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(users x d, items x d): a user's score for an item is their dot product."""
        ...


@runtime_checkable
class ModelModule(Protocol):
    """What the registry asks of a model's module `siger_kedro/models/<name>.py`: `build`, its
    `config` argument annotated with a frozen dataclass whose defaults are the model's
    defaults (the registry reads the annotation to find it)."""

    def build(self, inputs: ModelInputs, config: Any, device: torch.device) -> Model:
        ...
