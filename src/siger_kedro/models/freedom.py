"""FREEDOM (Zhou & Shen, ACM MM 2023, "A Tale of Two Graphs: Freezing and Denoising Graph
Structures for Multimodal Recommendation"), as MMRec implements it.

- Frozen item-item graph: per modality a binary kNN graph of the raw features (k = 10, the
  item itself included), symmetrically normalised D^-1/2 A D^-1/2, then mixed across
  modalities with fixed weights: MMRec gives text 0.9 and vision 0.1 (`image_weight`); here
  "text" gets 1 - image_weight and the other modalities share image_weight (genre on
  MovieLens plays vision's part); `modality_weights` sets them explicitly.
- Item-graph convolution: `ii_layers` (1) products of the frozen graph with the item ID
  embeddings, added to LightGCN's item output (`ui_layers` = 2, mean over layers 0..L).
- Degree-sensitive edge pruning: at the start of each epoch, `round down(|E| (1 - dropout))`
  training edges are drawn without replacement with probability proportional to
  1/sqrt(d_u d_i) (high-degree pairs, more likely noisy, are pruned more), and the kept
  edges are re-normalised with their own degrees into the training LightGCN graph; it is
  built on the model's device. Scoring uses the full graph, as in the authors' code.
- Loss: BPR on the final representations + reg_weight * sum over modalities of BPR where
  the items are represented by their linearly projected raw features W_m x_i + b_m. The raw
  features are fine-tuned by these terms, as in MMRec (`finetune_features`).

Where we depart: nowhere by default. A dataset without a "text" modality mixes its
modality graphs equally (MMRec has no such case).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ..graphs.knn import binary
from ..graphs.normalize import normalize_square
from .base import (
    ModelInputs,
    embedding_table,
    feature_tables,
    projected_rows,
    require_modalities,
    split_users_items,
)
from .losses import rows_bpr_loss
from .propagation import last_layer, lightgcn
from .sparse import DeviceSparseOperator, SparseOperator


@dataclass(frozen=True)
class FreedomConfig:
    embedding_dim: int = 64
    ui_layers: int = 2  # LightGCN layers on the (pruned) user-item graph
    ii_layers: int = 1  # convolutions on the frozen item-item graph
    knn_k: int = 10
    image_weight: float = 0.1  # MMRec's mm_image_weight: the non-text share of the item graph (text: 0.9)
    modality_weights: dict | None = None  # explicit {modality: weight}; overrides image_weight
    dropout: float = 0.8  # fraction of training edges pruned each epoch (paper: 0.8 or 0.9)
    reg_weight: float = 1e-4  # weight of the modality-feature BPR terms
    finetune_features: bool = True  # MMRec trains the raw feature tables through those terms


# -- frozen item-item graph ---------------------------------------------------------------------
def modality_weights(modalities, image_weight: float = 0.1, explicit: dict | None = None) -> dict[str, float]:
    """Each modality's share of the frozen item graph, summing to 1.

    `explicit` weights must name exactly the dataset's modalities and are rescaled to sum
    to 1. Otherwise one modality gets 1; with "text" among several, "text" gets
    1 - image_weight and the others share `image_weight` equally (MMRec's text 0.9 / vision
    0.1); without "text", all are equal.
    """
    modalities = sorted(modalities)
    require_modalities("freedom", modalities)
    if explicit is not None:
        if set(explicit) != set(modalities):
            raise ValueError(f"modality_weights names {sorted(explicit)}, the dataset has {modalities}")
        values = np.array([float(explicit[m]) for m in modalities])
        if (values < 0).any() or not np.isfinite(values).all() or values.sum() <= 0:
            raise ValueError(f"modality_weights must be non-negative with a positive sum, got {explicit}")
        return dict(zip(modalities, (values / values.sum()).tolist()))
    if not 0.0 <= image_weight <= 1.0:
        raise ValueError(f"image_weight must lie in [0, 1], got {image_weight!r}")
    if len(modalities) == 1:
        return {modalities[0]: 1.0}
    if "text" not in modalities:
        return {m: 1.0 / len(modalities) for m in modalities}
    rest = image_weight / (len(modalities) - 1)
    return {m: 1.0 - image_weight if m == "text" else rest for m in modalities}


def frozen_item_graph(knn: dict[str, sp.csr_matrix], weights: dict[str, float]) -> sp.csr_matrix:
    """sum_m w_m D_m^-1/2 A_m D_m^-1/2 with A_m modality m's kNN graph `knn[m]` made binary."""
    total = sum(w * normalize_square(binary(knn[m])) for m, w in weights.items())
    return sp.csr_matrix(total, dtype=np.float32)


# -- degree-sensitive edge pruning ----------------------------------------------------------------
def degree_sensitive_weights(train: sp.spmatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(users, items, 1/sqrt(d_u d_i)) of every training edge: the unnormalised probability
    of keeping it, so edges between high-degree nodes are pruned more often."""
    r = sp.csr_matrix(train)
    coo = r.tocoo()
    d_u = np.asarray(r.sum(axis=1), dtype=np.float64).ravel()
    d_i = np.asarray(r.sum(axis=0), dtype=np.float64).ravel()
    w = 1.0 / np.sqrt(d_u[coo.row] * d_i[coo.col])
    return coo.row.astype(np.int64), coo.col.astype(np.int64), w.astype(np.float32)


def kept_edge_count(n_edges: int, dropout: float) -> int:
    """floor(|E| (1 - dropout)), at least 1; the epsilon stops 10 * (1 - 0.8) = 1.999... from
    rounding down to 1."""
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
    return max(1, math.floor(n_edges * (1.0 - dropout) + 1e-6))


def prune_edges(weights: torch.Tensor, n_keep: int) -> torch.Tensor:
    """Indices of `n_keep` distinct edges drawn with probability proportional to `weights`
    (successive draws without replacement), on the weights' device."""
    return torch.multinomial(weights, n_keep, replacement=False)


def pruned_adjacency(users: torch.Tensor, items: torch.Tensor, n_users: int, n_items: int) -> DeviceSparseOperator:
    """[[0, R'], [R'^T, 0]] of the kept edges R', normalised with the kept degrees
    (the same matrix as graphs.normalize.ui_adjacency(R'), built on the edges' device)."""
    d_u = torch.bincount(users, minlength=n_users).float()
    d_i = torch.bincount(items, minlength=n_items).float()
    v = torch.rsqrt(d_u[users] * d_i[items])  # every kept edge has both degrees >= 1
    cols = items + n_users
    n = n_users + n_items
    return DeviceSparseOperator(torch.cat([users, cols]), torch.cat([cols, users]), torch.cat([v, v]), (n, n), symmetric=True)


# -- model ----------------------------------------------------------------------------------------
class Freedom(nn.Module):
    def __init__(
        self,
        n_users: int,
        n_items: int,
        ui_adjacency: SparseOperator,
        item_graph: SparseOperator,
        edges: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
        features: dict[str, torch.Tensor],
        config: FreedomConfig = FreedomConfig(),
    ):
        """`ui_adjacency`: the full normalised user-item graph (used for scoring);
        `item_graph`: the frozen mixed item-item graph; `edges`: (users, items, keep weights)
        of the training interactions, on the model's device; `features[m]`: raw item features."""
        super().__init__()
        require_modalities("freedom", features)
        d = config.embedding_dim
        self.n_users, self.n_items, self.config = n_users, n_items, config
        self.modalities = sorted(features)
        self.ui_adjacency, self.item_graph = ui_adjacency, item_graph
        self.features = feature_tables(features, config.finetune_features)
        self.edge_users, self.edge_items, self.edge_weights = edges
        self.n_keep = kept_edge_count(self.edge_weights.numel(), config.dropout)
        self.user_embedding = embedding_table(n_users, d)
        self.item_embedding = embedding_table(n_items, d)
        self.projections = nn.ModuleDict({m: nn.Linear(x.shape[1], d) for m, x in features.items()})
        self.train_adjacency: SparseOperator | None = None

    def prune(self) -> SparseOperator:
        """A fresh degree-sensitive sample of the user-item graph (the full one if dropout = 0)."""
        if self.config.dropout <= 0:
            return self.ui_adjacency
        keep = prune_edges(self.edge_weights, self.n_keep)
        return pruned_adjacency(self.edge_users[keep], self.edge_items[keep], self.n_users, self.n_items)

    def start_epoch(self, epoch: int) -> None:
        self.train_adjacency = self.prune()

    def forward(self, adjacency: SparseOperator) -> tuple[torch.Tensor, torch.Tensor]:
        e = torch.cat([self.user_embedding, self.item_embedding])
        users, items = split_users_items(lightgcn(adjacency, e, self.config.ui_layers), self.n_users)
        h = last_layer(self.item_graph, self.item_embedding, self.config.ii_layers)
        return users, items + h

    @torch.no_grad()
    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward(self.ui_adjacency)

    def loss(self, users, pos, neg) -> dict[str, torch.Tensor]:
        if self.train_adjacency is None:  # called without start_epoch
            self.train_adjacency = self.prune()
        u, i = self.forward(self.train_adjacency)
        # index_select, not x[idx]: its backward adds rows where x[idx]'s zero-fills the whole
        # table and scatters into it (that was half of the loss and backward's time)
        ub, rows = u.index_select(0, users), torch.cat([pos, neg])
        bpr = rows_bpr_loss(ub, i.index_select(0, rows))
        if self.config.reg_weight == 0:  # the same step as with the terms (zero gradients, no Adam update)
            return {"bpr": bpr, "loss": bpr}
        modal = 0.0
        for m, proj in self.projections.items():
            modal = modal + rows_bpr_loss(ub, projected_rows(proj, self.features[m], rows))
        return {"bpr": bpr, "modal_bpr": modal, "loss": bpr + self.config.reg_weight * modal}


def build(inputs: ModelInputs, config: FreedomConfig, device: torch.device) -> Freedom:
    require_modalities("freedom", inputs.features)
    weights = modality_weights(inputs.modalities, config.image_weight, config.modality_weights)
    item_graph = frozen_item_graph({m: inputs.knn_graph(m, config.knn_k) for m in weights}, weights)
    users, items, w = degree_sensitive_weights(inputs.train)
    edges = tuple(torch.as_tensor(a, device=device) for a in (users, items, w))
    return Freedom(
        inputs.n_users,
        inputs.n_items,
        ui_adjacency=SparseOperator(inputs.ui_adjacency, device),
        item_graph=SparseOperator(item_graph, device),
        edges=edges,
        features=inputs.feature_tensors(device),
        config=config,
    ).to(device)
