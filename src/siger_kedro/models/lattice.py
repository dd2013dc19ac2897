"""LATTICE (Zhang et al., ACM MM 2021, "Mining Latent Structures for Multimedia Recommendation").

Item graph (paper §3.1, as the authors' code and MMRec compute it), per modality m:
- original graph A_m: kNN (k = 10) of the cosine similarity of the raw features, kept values
  weighted by the cosine, normalised D^-1/2 A D^-1/2 (row sums); fixed for the run;
- learned graph S_m: the same kNN on the projected features x~ = W_m x + b_m, so gradients
  reach W_m through the kept similarities (the top-k selection itself is discrete).
Modalities are weighted by α = softmax(learned logits) and
  Ã = (1 - λ) · norm(sum_m α_m S_m) + λ · sum_m α_m A_m,   λ = lambda_coeff = 0.9
(MMRec's default: 0.1 learned + 0.9 original). Item-graph convolution: h = Ã^L E_item (L = ii_layers
= 1) on the layer-0 item ID embeddings; items = LightGCN item output (ui_layers = 2) + h/||h||;
users = LightGCN user output. The user-item graph of that LightGCN is MMRec's for LATTICE,
row-normalised with self-loops, D^-1 (A + I) (`row_normalized_adjacency`). BPR plus ½
reg_weight ||·||² of the batch's final representations (MMRec's regulariser, `half_l2`).
The raw features are fine-tuned through the learned graph, as in MMRec
(`finetune_features`); the original graphs are those of the raw features.

As in MMRec's implementation, the learned graph is rebuilt with gradient on each epoch's
first batch and reused, detached, for the others; scoring rebuilds it from the current
weights. Where we depart: negative cosines, kept only when fewer than k items are positively
similar, are clamped to 0 so that degrees stay positive. MMRec's LATTICE also decays the
learning rate ×0.96 per 50 epochs: a training setting, in the YAML's `training` block.

Memory: the items x items similarity is never held whole; top-k indices are found in row
chunks without gradient and the n x k kept similarities are recomputed differentiably.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from ..graphs.knn import normalized_cosine_graph
from ..graphs.normalize import normalize_rows
from .base import (
    ModelInputs,
    embedding_table,
    feature_tables,
    require_modalities,
    split_users_items,
)
from .losses import bpr_loss, half_l2
from .propagation import last_layer, lightgcn
from .sparse import DeviceSparseOperator, SparseOperator

# Similarities per top-k block: about 2^25 (128 MiB of float32).
_BLOCK_ELEMENTS = 1 << 25


@dataclass(frozen=True)
class LatticeConfig:
    embedding_dim: int = 64  # also the dimension of the projected features W_m x
    ui_layers: int = 2
    ii_layers: int = 1
    knn_k: int = 10
    lambda_coeff: float = 0.9  # weight of the original graph; the learned one gets 1 - λ
    reg_weight: float = 1e-4
    finetune_features: bool = True  # MMRec trains the raw feature tables through the learned graph


# -- graphs ----------------------------------------------------------------------------------------
def row_normalized_adjacency(train: sp.spmatrix) -> sp.csr_matrix:
    """D^-1 (A + I) with A = [[0, R], [R^T, 0]], users then items: every row sums to 1
    (MMRec's user-item graph for LATTICE; not symmetric)."""
    r = sp.csr_matrix(train, dtype=np.float32)
    n = r.shape[0] + r.shape[1]
    return normalize_rows(sp.bmat([[None, r], [r.T, None]], format="csr") + sp.identity(n, dtype=np.float32))

def knn_indices(x: torch.Tensor, k: int, chunk_rows: int | None = None) -> torch.Tensor:
    """n x k column indices of each row's k largest x_i . x_j (itself included), computed one
    chunk of rows at a time without gradient: memory is chunk x n, never n x n."""
    n = x.shape[0]
    k = min(k, n)
    chunk_rows = chunk_rows or max(1, _BLOCK_ELEMENTS // max(n, 1))
    with torch.no_grad():
        xd = x.detach()
        return torch.cat([(xd[s : s + chunk_rows] @ xd.T).topk(k, dim=1).indices for s in range(0, n, chunk_rows)])


def knn_similarities(projected: torch.Tensor, k: int, chunk_rows: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """LATTICE's kNN-sparsified similarity S for one modality as (indices, values), both
    n x k: each row's top-k cosines of the projected features (negatives clamped to 0).
    `values` is differentiable with respect to `projected`."""
    p = F.normalize(projected, dim=1)
    idx = knn_indices(p, k, chunk_rows)
    return idx, (p.unsqueeze(1) * p[idx]).sum(-1).clamp_min(0.0)


def normalized_mix(graphs: list[tuple[torch.Tensor, torch.Tensor]], weights: torch.Tensor) -> list[torch.Tensor]:
    """D^-1/2 (sum_m w_m S_m) D^-1/2 with D the row sums of the mix, returned as each
    modality's share w_m S_m[i, j] / sqrt(d_i d_j) on its own (indices, values) layout: the
    normalisation is linear once D is fixed, so the union never has to be assembled."""
    deg = sum(w * v.sum(1) for w, (_, v) in zip(weights, graphs))
    inv = deg.clamp_min(1e-12).rsqrt() * (deg > 0)  # clamp, not where: no 0 * inf gradients
    return [w * v * inv.unsqueeze(1) * inv[idx] for w, (idx, v) in zip(weights, graphs)]


def gather_matmul(idx: torch.Tensor, values: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """(S h)_i = sum_k values[i, k] h[idx[i, k]] for a graph stored as n x k rows;
    differentiable with respect to both values and h."""
    return (values.unsqueeze(-1) * h[idx]).sum(1)


# -- model -----------------------------------------------------------------------------------------
class Lattice(nn.Module):
    def __init__(
        self,
        n_users: int,
        n_items: int,
        ui_adjacency: SparseOperator,
        original_graphs: dict[str, SparseOperator],
        features: dict[str, torch.Tensor],
        config: LatticeConfig = LatticeConfig(),
        chunk_rows: int | None = None,
    ):
        """`original_graphs[m]`: the normalised cosine kNN graph of modality m's raw features
        (`graphs.knn.normalized_cosine_graph`); `features[m]`: the raw features; `chunk_rows`: rows per top-k
        block of the learned graph (default: about 2^25 similarities per block)."""
        super().__init__()
        require_modalities("lattice", features)
        if set(original_graphs) != set(features):
            raise ValueError(f"original graphs {sorted(original_graphs)} and features {sorted(features)} differ")
        d = config.embedding_dim
        self.n_users, self.n_items, self.config, self.chunk_rows = n_users, n_items, config, chunk_rows
        self.modalities = sorted(features)
        self.ui_adjacency, self.original_graphs = ui_adjacency, original_graphs
        self.features = feature_tables(features, config.finetune_features)
        self.user_embedding = embedding_table(n_users, d)
        self.item_embedding = embedding_table(n_items, d)
        self.projections = nn.ModuleDict({m: nn.Linear(features[m].shape[1], d) for m in self.modalities})
        self.modal_logits = nn.Parameter(torch.zeros(len(self.modalities)))  # α = softmax: equal at start
        self.item_graph: SparseOperator | None = None  # this epoch's detached Ã

    # -- the item graph --------------------------------------------------------------------------
    def graph_parts(self) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, SparseOperator]]:
        """Per modality (α_m, learned indices, normalised learned values (α_m included),
        original graph), all with gradient."""
        alpha = torch.softmax(self.modal_logits, dim=0)
        learned = [
            knn_similarities(self.projections[m](self.features[m]), self.config.knn_k, self.chunk_rows)
            for m in self.modalities
        ]
        values = normalized_mix(learned, alpha)
        return [
            (alpha[j], learned[j][0], values[j], self.original_graphs[m]) for j, m in enumerate(self.modalities)
        ]

    def propagate_parts(self, parts, h: torch.Tensor) -> torch.Tensor:
        """ii_layers products with Ã = (1 - λ) norm(sum_m α_m S_m) + λ sum_m α_m A_m,
        differentiable in every part."""
        lam = self.config.lambda_coeff
        for _ in range(self.config.ii_layers):
            h = sum((1 - lam) * gather_matmul(idx, v, h) + lam * a * (orig @ h) for a, idx, v, orig in parts)
        return h

    def combined_operator(self, parts) -> DeviceSparseOperator:
        """Ã as one detached sparse matrix on the device: one product per layer for the
        epoch's remaining batches."""
        lam, n = self.config.lambda_coeff, self.n_items
        rows, cols, vals = [], [], []
        for a, idx, v, orig in parts:
            rows.append(torch.arange(n, device=idx.device).repeat_interleave(idx.shape[1]))
            cols.append(idx.reshape(-1))
            vals.append((1 - lam) * v.detach().reshape(-1))
            o = orig.matrix.to_sparse_coo().coalesce()
            rows.append(o.indices()[0])
            cols.append(o.indices()[1])
            vals.append(lam * a.detach() * o.values())
        return DeviceSparseOperator(torch.cat(rows), torch.cat(cols), torch.cat(vals), (n, n))

    def start_epoch(self, epoch: int) -> None:
        self.item_graph = None  # rebuilt, with gradient, by the epoch's first batch

    # -- representations -------------------------------------------------------------------------
    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = torch.cat([self.user_embedding, self.item_embedding])
        users, items = split_users_items(lightgcn(self.ui_adjacency, e, self.config.ui_layers), self.n_users)
        return users, items + F.normalize(h, dim=1)

    @torch.no_grad()
    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        graph = self.combined_operator(self.graph_parts())  # from the current weights
        return self.forward(last_layer(graph, self.item_embedding, self.config.ii_layers))

    def loss(self, users, pos, neg) -> dict[str, torch.Tensor]:
        if self.item_graph is None:
            parts = self.graph_parts()
            h = self.propagate_parts(parts, self.item_embedding)
            self.item_graph = self.combined_operator(parts)
        else:
            h = last_layer(self.item_graph, self.item_embedding, self.config.ii_layers)
        u, i = self.forward(h)
        ub, ip, ineg = u[users], i[pos], i[neg]
        bpr = bpr_loss((ub * ip).sum(1), (ub * ineg).sum(1))
        reg = half_l2(ub, ip, ineg, batch_size=len(users))
        return {"bpr": bpr, "reg": reg, "loss": bpr + self.config.reg_weight * reg}


def build(inputs: ModelInputs, config: LatticeConfig, device: torch.device) -> Lattice:
    require_modalities("lattice", inputs.features)
    return Lattice(
        inputs.n_users,
        inputs.n_items,
        ui_adjacency=SparseOperator(row_normalized_adjacency(inputs.train), device),
        original_graphs={m: SparseOperator(normalized_cosine_graph(inputs.knn_graph(m, config.knn_k)), device)
                         for m in inputs.modalities},
        features=inputs.feature_tensors(device),
        config=config,
    ).to(device)
