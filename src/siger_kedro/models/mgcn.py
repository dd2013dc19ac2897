"""MGCN (Yu et al., ACM MM 2023): Multi-View Graph Convolutional Network for Multimedia
Recommendation.

- Behaviour-guided purifier: each modality's item features are projected to d and used to
  gate the item ID embedding, Ẽ_m = E_id ⊙ sigmoid(W_2 (W_1 x_m + b_1) + b_2).
- Item-item view: Ẽ_m propagated `ii_layers` times on modality m's kNN item graph (top-k by
  cosine, edges weighted by the cosine, symmetrically normalised with row degrees); users get
  the normalised user-item matrix times the items' result.
- User-item view: LightGCN on the user-item graph, mean over layers 0..L_ui (the "content"
  or behaviour representation).
- Behaviour-aware fuser: attention over modalities gives the modality-shared part
  E_c = Σ_m softmax_m(q(E_m)) E_m with q = W_b tanh(W_a e + b_a); each modality-specific part
  E_m - E_c is gated by the user's/item's behaviour representation, sigmoid(W_m e_id + b_m);
  side = (Σ_m gated specific parts + E_c) / (M + 1); the final representation is content + side.
- Self-supervised task: InfoNCE (τ 0.2) between side and content views of every user and
  positive item row of the batch (duplicates included, as in MMRec), weighted by `cl_loss`;
  BPR plus ½‖·‖² / batch of the batch's final representations weighted by `reg_weight`
  (MMRec's regulariser, `losses.half_l2`).

Defaults follow MMRec's MGCN.yaml (n_ui_layers 2, n_layers 1, knn_k 10, reg 1e-4) and the
authors' repository (cl_loss 0.01). With M modalities the paper's two-modality formulas are
applied unchanged over any number of modalities (the divisor 3 of the paper is M + 1).
MMRec decays its learning rate ×0.96 per 50 epochs: a training setting, in the YAML's
`training` block. Where we depart: nowhere by default.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..graphs.knn import normalized_cosine_graph
from .base import (
    ModelInputs,
    embedding_table,
    feature_tables,
    require_modalities,
    split_users_items,
)
from .losses import bpr_loss, half_l2, info_nce
from .propagation import last_layer, lightgcn
from .sparse import SparseOperator


@dataclass(frozen=True)
class MGCNConfig:
    embedding_dim: int = 64
    ui_layers: int = 2  # LightGCN layers of the user-item view (MMRec n_ui_layers)
    ii_layers: int = 1  # item-item view layers (MMRec n_layers)
    knn_k: int = 10  # neighbours per item in each modality graph
    cl_loss: float = 0.01  # λ_C, weight of the side/content InfoNCE
    tau: float = 0.2  # InfoNCE temperature
    reg_weight: float = 1e-4  # λ_E
    # MMRec loads the raw features as a trainable embedding (from_pretrained(freeze=False)),
    # so they are fine-tuned by backpropagation; the kNN graphs stay those of the raw features.
    finetune_features: bool = True


def purify(item_id: torch.Tensor, projected: torch.Tensor, gate: nn.Linear) -> torch.Tensor:
    """Behaviour-guided purifier: E_id ⊙ sigmoid(W projected + b)."""
    return item_id * torch.sigmoid(gate(projected))


def behaviour_aware_fusion(
    views: list[torch.Tensor], content: torch.Tensor, query: nn.Module, preferences: list[nn.Module]
) -> torch.Tensor:
    """The fuser: `views[m]` is modality m's (users+items) x d representation, `content` the
    user-item view, `query` maps d -> 1 (attention score), `preferences[m]` maps d -> d
    (behaviour gate before its sigmoid). Returns the side representation."""
    stacked = torch.stack(views)  # M x N x d
    weights = torch.softmax(query(stacked).squeeze(-1), dim=0)  # attention over modalities
    common = (weights.unsqueeze(-1) * stacked).sum(0)
    specific = sum(torch.sigmoid(p(content)) * (v - common) for v, p in zip(views, preferences))
    return (specific + common) / (len(views) + 1)


class MGCN(nn.Module):
    def __init__(
        self,
        n_users: int,
        n_items: int,
        ui_adjacency: SparseOperator,
        user_item: SparseOperator,
        item_graphs: dict[str, SparseOperator],
        features: dict[str, torch.Tensor],
        config: MGCNConfig = MGCNConfig(),
    ):
        """`ui_adjacency` is the normalised (U+I)² LightGCN matrix, `user_item` its U x I block
        D_u^-1/2 R D_i^-1/2, `item_graphs[m]` modality m's normalised kNN graph and
        `features[m]` its raw item features."""
        super().__init__()
        require_modalities("mgcn", features)
        if set(item_graphs) != set(features):
            raise ValueError(f"item graphs {sorted(item_graphs)} and features {sorted(features)} differ")
        d = config.embedding_dim
        self.n_users, self.n_items, self.config = n_users, n_items, config
        self.modalities = sorted(features)
        self.ui_adjacency, self.user_item, self.item_graphs = ui_adjacency, user_item, item_graphs
        self.user_embedding = embedding_table(n_users, d)
        self.item_embedding = embedding_table(n_items, d)
        self.features = feature_tables(features, config.finetune_features)
        self.projections = nn.ModuleDict({m: nn.Linear(x.shape[1], d) for m, x in features.items()})
        self.purifiers = nn.ModuleDict({m: nn.Linear(d, d) for m in self.modalities})
        self.query = nn.Sequential(nn.Linear(d, d), nn.Tanh(), nn.Linear(d, 1, bias=False))
        self.preferences = nn.ModuleDict({m: nn.Linear(d, d) for m in self.modalities})

    def modality_view(self, m: str) -> torch.Tensor:
        """Purified item features of modality m on its item graph; users through R̂."""
        items = purify(self.item_embedding, self.projections[m](self.features[m]), self.purifiers[m])
        items = last_layer(self.item_graphs[m], items, self.config.ii_layers)
        return torch.cat([self.user_item @ items, items])

    def forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(content, side) over users then items."""
        content = lightgcn(
            self.ui_adjacency, torch.cat([self.user_embedding, self.item_embedding]), self.config.ui_layers
        )
        views = [self.modality_view(m) for m in self.modalities]
        side = behaviour_aware_fusion(views, content, self.query, [self.preferences[m] for m in self.modalities])
        return content, side

    @torch.no_grad()
    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        content, side = self.forward()
        return split_users_items(content + side, self.n_users)

    def loss(self, users, pos, neg) -> dict[str, torch.Tensor]:
        c = self.config
        content, side = self.forward()
        u, i = split_users_items(content + side, self.n_users)
        u_b, p_b, n_b = u[users], i[pos], i[neg]
        bpr = bpr_loss((u_b * p_b).sum(1), (u_b * n_b).sum(1))
        reg = half_l2(u_b, p_b, n_b, batch_size=len(users))
        side_u, side_i = split_users_items(side, self.n_users)
        content_u, content_i = split_users_items(content, self.n_users)
        bu, bi = users, pos  # every row of the batch, as MMRec
        cl = info_nce(side_i[bi], content_i[bi], c.tau) + info_nce(side_u[bu], content_u[bu], c.tau)
        return {"bpr": bpr, "reg": reg, "cl": cl, "loss": bpr + c.reg_weight * reg + c.cl_loss * cl}


def build(inputs: ModelInputs, config: MGCNConfig, device: torch.device) -> MGCN:
    require_modalities("mgcn", inputs.features)
    graphs = {m: SparseOperator(normalized_cosine_graph(inputs.knn_graph(m, config.knn_k)), device)
              for m in inputs.modalities}
    return MGCN(
        inputs.n_users,
        inputs.n_items,
        ui_adjacency=SparseOperator(inputs.ui_adjacency, device),
        user_item=SparseOperator(inputs.user_item, device),
        item_graphs=graphs,
        features=inputs.feature_tensors(device),
        config=config,
    ).to(device)
