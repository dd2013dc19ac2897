"""LGMRec (Guo et al., AAAI 2024): Local and Global Graph Learning for Multimodal
Recommendation.

Local graph embeddings (decoupled, so that modality signals do not update the ID embeddings):
- collaborative graph embedding (CGE): LightGCN on the user-item graph, mean over layers
  0..L_ui, from the user/item ID embeddings;
- modality graph embeddings (MGE): item features projected by W_m (no bias); a user's
  modality feature is the mean of its training items' (no user ID embedding enters, the
  paper's decoupling); both propagated `mm_layers` times on the same normalised user-item
  graph, last layer kept. Local = CGE + Σ_m normalize(MGE_m).
Global hypergraph embeddings (GHE):
- hyperedge dependencies: items H_i^m = GumbelSoftmax(X_m V_m), users
  H_u^m = GumbelSoftmax(R X_m V_m) (R binary), with `hyper_num` learnable hyperedges V_m and
  temperature 0.2; both dropped out with keep probability `keep_rate`;
- propagation: Λ = H_i^T E_i, E_i <- H_i Λ for `hyper_layers` layers starting from the
  CGE items, E_u = H_u Λ (last layer); GHE = Σ_m [E_u^m; E_i^m];
- final = local + alpha · normalize(GHE).
Loss: BPR + cl_weight · hypergraph InfoNCE between the modalities' hyper embeddings (every
user and positive item row of the batch, duplicates included, negatives = every user / every
item, summed over the rows as in the paper and the reference) + reg_weight · MMRec's EmbLoss
(unsquared norms over the batch size, `losses.emb_loss`) of the batch's final representations.

Defaults and grid: the authors' configs (MMRec LGMRec.yaml and georgeguo-cn/LGMRec), which
tune per dataset: Baby (1 hyper layer, 4 hyperedges, keep 0.5, alpha 0.3), Sports (1, 4, 0.4,
0.6), Clothing (2, 64, 0.2, 0.2).

Where we depart from the reference code:
- Evaluation: the reference scores with a fresh Gumbel sample of the hyperedge dependencies
  (its forward samples in eval mode too); here the eval sample is drawn from a generator
  seeded with `eval_seed`, so that embeddings() is the same on every call, and
  `eval_gumbel=False` uses the noise-free softmax(logits / τ) instead.
- Any number of modalities: MGE and GHE sum over modalities; the InfoNCE is averaged over
  modality pairs (one pair with two modalities, as in the paper; none with one modality).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from .base import ModelInputs, embedding_table, require_modalities, split_users_items
from .losses import bpr_loss, emb_loss
from .propagation import last_layer, lightgcn
from .sparse import SparseOperator


@dataclass(frozen=True)
class LGMRecConfig:
    embedding_dim: int = 64  # ID and projected feature size (they are summed)
    ui_layers: int = 2  # CGE LightGCN layers
    mm_layers: int = 2  # MGE propagation layers
    hyper_layers: int = 1  # hypergraph layers (>= 1)
    hyper_num: int = 4  # learnable hyperedges per modality
    keep_rate: float = 0.5  # dropout keep probability of the hyperedge dependencies
    alpha: float = 0.3  # weight of the global embedding
    cl_weight: float = 1e-4  # hypergraph InfoNCE weight
    reg_weight: float = 1e-6
    tau: float = 0.2  # InfoNCE temperature
    gumbel_tau: float = 0.2  # Gumbel-softmax temperature (the reference code reuses tau)
    eval_gumbel: bool = True  # the reference's Gumbel noise at evaluation (from eval_seed); False: none
    eval_seed: int = 0


def hypergraph_propagation(
    item_hyper: torch.Tensor, user_hyper: torch.Tensor, items: torch.Tensor, layers: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Λ = H_i^T E_i (hyperedge embeddings), E_i <- H_i Λ, repeated `layers` times; users read
    the last layer's hyperedges: E_u = H_u Λ. Returns (users, items)."""
    if layers < 1:
        raise ValueError(f"hyper_layers must be >= 1, got {layers}")
    for _ in range(layers):
        latent = item_hyper.T @ items
        items = item_hyper @ latent
    return user_hyper @ latent, items


def info_nce_all_negatives(a: torch.Tensor, b_all: torch.Tensor, rows: torch.Tensor, tau: float) -> torch.Tensor:
    """LGMRec's hypergraph InfoNCE: for each row r of `rows`, positive (a_r, b_all[r]),
    negatives every row of b_all; cosine similarities, summed over `rows`.
    (The shared info_nce draws negatives from the batch only and averages, so it cannot
    express this.)"""
    logits = (F.normalize(a, dim=1) / tau) @ F.normalize(b_all, dim=1).T
    return F.cross_entropy(logits, rows, reduction="sum")


@dataclass
class Representations:
    user: torch.Tensor
    item: torch.Tensor
    hyper_user: dict[str, torch.Tensor]
    hyper_item: dict[str, torch.Tensor]


class LGMRec(nn.Module):
    def __init__(
        self,
        n_users: int,
        n_items: int,
        ui_adjacency: SparseOperator,
        interactions: SparseOperator,
        user_mean: SparseOperator,
        features: dict[str, torch.Tensor],
        config: LGMRecConfig = LGMRecConfig(),
    ):
        """`ui_adjacency`: normalised (U+I)² matrix; `interactions`: binary R (users x items);
        `user_mean`: D_u^-1 R (a user's mean over its items); `features[m]`: raw item features."""
        super().__init__()
        require_modalities("lgmrec", features)
        if config.hyper_layers < 1:
            raise ValueError(f"hyper_layers must be >= 1, got {config.hyper_layers}")
        d = config.embedding_dim
        self.n_users, self.n_items, self.config = n_users, n_items, config
        self.modalities = sorted(features)
        self.ui_adjacency, self.interactions, self.user_mean = ui_adjacency, interactions, user_mean
        self.features = features  # frozen raw features (the reference freezes them)
        self.user_embedding = embedding_table(n_users, d)
        self.item_embedding = embedding_table(n_items, d)
        self.projections = nn.ParameterDict({m: embedding_table(x.shape[1], d) for m, x in features.items()})
        self.hyperedges = nn.ParameterDict({m: embedding_table(x.shape[1], config.hyper_num) for m, x in features.items()})

    def _dependencies(self, logits: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        c = self.config
        if self.training:
            h = F.gumbel_softmax(logits, tau=c.gumbel_tau, dim=1, hard=False)
        elif c.eval_gumbel:  # the reference's noisy evaluation, from a fixed seed
            u = torch.rand(logits.shape, device=logits.device, generator=generator).clamp_(1e-10, 1.0 - 1e-7)
            h = torch.softmax((logits - torch.log(-torch.log(u))) / c.gumbel_tau, dim=1)
        else:
            h = torch.softmax(logits / c.gumbel_tau, dim=1)
        return F.dropout(h, p=1.0 - c.keep_rate, training=self.training)

    def modality_graph_embedding(self, m: str) -> torch.Tensor:
        items = self.features[m] @ self.projections[m]
        users = self.user_mean @ items
        return last_layer(self.ui_adjacency, torch.cat([users, items]), self.config.mm_layers)

    def hypergraph_embedding(self, m: str, cge_items: torch.Tensor,
                             generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        item_logits = self.features[m] @ self.hyperedges[m]
        user_logits = self.interactions @ item_logits
        return hypergraph_propagation(self._dependencies(item_logits, generator),
                                      self._dependencies(user_logits, generator), cge_items, self.config.hyper_layers)

    def forward(self) -> Representations:
        c = self.config
        cge = lightgcn(self.ui_adjacency, torch.cat([self.user_embedding, self.item_embedding]), c.ui_layers)
        local = cge + sum(F.normalize(self.modality_graph_embedding(m), dim=1) for m in self.modalities)
        hyper_user, hyper_item = {}, {}
        generator = None if self.training else torch.Generator(cge.device).manual_seed(c.eval_seed)
        for m in self.modalities:
            hyper_user[m], hyper_item[m] = self.hypergraph_embedding(m, cge[self.n_users :], generator)
        ghe = sum(torch.cat([hyper_user[m], hyper_item[m]]) for m in self.modalities)
        user, item = split_users_items(local + c.alpha * F.normalize(ghe, dim=1), self.n_users)
        return Representations(user, item, hyper_user, hyper_item)

    @torch.no_grad()
    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        r = self.forward()
        return r.user, r.item

    def loss(self, users, pos, neg) -> dict[str, torch.Tensor]:
        c = self.config
        r = self.forward()
        u_b, p_b, n_b = r.user[users], r.item[pos], r.item[neg]
        bpr = bpr_loss((u_b * p_b).sum(1), (u_b * n_b).sum(1))
        reg = emb_loss(u_b, p_b, n_b)
        pairs = list(combinations(self.modalities, 2))
        if pairs:
            bu, bi = users, pos  # every row of the batch, as the reference
            hcl = sum(
                info_nce_all_negatives(r.hyper_user[a][bu], r.hyper_user[b], bu, c.tau)
                + info_nce_all_negatives(r.hyper_item[a][bi], r.hyper_item[b], bi, c.tau)
                for a, b in pairs
            ) / len(pairs)
        else:
            hcl = torch.zeros((), device=bpr.device)
        return {"bpr": bpr, "reg": reg, "hcl": hcl, "loss": bpr + c.cl_weight * hcl + c.reg_weight * reg}


def _row_mean(r: sp.csr_matrix) -> sp.csr_matrix:
    """D_u^-1 R: each row divided by its count (an empty row stays empty)."""
    deg = np.asarray(r.sum(axis=1), dtype=np.float64).ravel()
    inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    return sp.csr_matrix(sp.diags(inv) @ r, dtype=np.float32)


def build(inputs: ModelInputs, config: LGMRecConfig, device: torch.device) -> LGMRec:
    require_modalities("lgmrec", inputs.features)
    return LGMRec(
        inputs.n_users,
        inputs.n_items,
        ui_adjacency=SparseOperator(inputs.ui_adjacency, device),
        interactions=SparseOperator(inputs.train, device),
        user_mean=SparseOperator(_row_mean(inputs.train), device),
        features=inputs.feature_tensors(device),
        config=config,
    ).to(device)
