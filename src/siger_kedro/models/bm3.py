"""BM3 (Zhou et al., WWW 2023): "Bootstrap Latent Representations for Multi-modal Recommendation".

No negative sampling: the training signal is a cosine alignment between an *online* view
(passed through a shared one-layer predictor) and a *target* view, which is the stop-gradient
of the online representations with dropout applied (the paper's latent-representation dropout,
instead of a second target network or graph augmentations). Three objectives (the paper's
multi-modal contrastive loss, MMCL):

- graph reconstruction: user online vs item target and item online vs user target, per
  training pair (u, i);
- inter-modality alignment: each modality's projected feature (online) vs the item's target;
- intra-modality alignment: each modality's projected feature (online) vs its own target.

L = L_rec + cl_weight * (L_inter + L_intra) + reg_weight * L_reg, where each C(a, b) is
1 - mean cos(a, sg(b)). Facts from the paper and the authors' released code (the MMRec
implementation): one predictor shared by IDs and modalities; LightGCN layer mean over the ID
embeddings, with the layer-0 item ID embedding added back to the item output; modality
features fine-tuned (they are trainable tables in the reference); scores are dot products of
the predictor outputs.

L_reg is MMRec's: the unsquared Frobenius norms of *all* online (pre-predictor) user and item
representations divided by n_items (`losses.emb_loss` on the whole tables), so the authors'
reg_weight values mean the same here.

Choices of this implementation, which do not change the objective:
- projections and dropout targets are computed for the batch's items only (dropout is i.i.d.
  per entry, so this is the same distribution as computing all rows and indexing), which
  saves a (n_items x feature_dim x d) product per batch;
- any number of modalities: each one gets its own projection and its two alignment terms.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import (
    ModelInputs,
    embedding_table,
    feature_tables,
    require_modalities,
    split_users_items,
)
from .losses import emb_loss
from .propagation import lightgcn
from .sparse import SparseOperator


@dataclass(frozen=True)
class BM3Config:
    embedding_dim: int = 64
    layers: int = 1  # the authors' best on Baby and Sports; grid [1, 2]
    dropout: float = 0.5  # target-view dropout; grid [0.3, 0.5]
    reg_weight: float = 0.1  # the authors' best on Baby (MMRec grid [0.1, 0.01])
    cl_weight: float = 2.0  # weight of the inter- + intra-modality terms (MMRec's BM3.yaml)
    finetune_features: bool = True  # the reference trains the raw feature tables too


def cosine_alignment(online: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """C(a, b) = 1 - mean_i cos(a_i, sg(b_i)): the BYOL-style loss of every BM3 term; the
    target is never differentiated (stop-gradient)."""
    return 1.0 - F.cosine_similarity(online, target.detach(), dim=-1).mean()


class BM3(nn.Module):
    def __init__(
        self,
        n_users: int,
        n_items: int,
        ui_adjacency: SparseOperator,
        features: dict[str, torch.Tensor],
        config: BM3Config = BM3Config(),
    ):
        super().__init__()
        require_modalities("bm3", features)
        d = config.embedding_dim
        self.n_users, self.n_items, self.config, self.ui_adjacency = n_users, n_items, config, ui_adjacency
        self.modalities = sorted(features)
        self.user_embedding = embedding_table(n_users, d)
        self.item_embedding = embedding_table(n_items, d)
        self.predictor = nn.Linear(d, d)  # shared by the ID and modality views (paper Fig. 1)
        nn.init.xavier_normal_(self.predictor.weight)
        self.projections = nn.ModuleDict({m: nn.Linear(features[m].shape[1], d) for m in self.modalities})
        for proj in self.projections.values():
            nn.init.xavier_normal_(proj.weight)
        self.features = feature_tables(features, config.finetune_features)

    def forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Online user and item representations before the predictor: the LightGCN layer mean,
        with the layer-0 item ID embedding added to the items (the authors' code)."""
        e = torch.cat([self.user_embedding, self.item_embedding])
        users, items = split_users_items(lightgcn(self.ui_adjacency, e, self.config.layers), self.n_users)
        return users, items + self.item_embedding

    def project(self, m: str, items: torch.Tensor | None = None) -> torch.Tensor:
        """Modality m's features projected to d (rows `items`, or every item)."""
        x = self.features[m] if items is None else self.features[m][items]
        return self.projections[m](x)

    @torch.no_grad()
    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        users, items = self.forward()
        return self.predictor(users), self.predictor(items)

    def loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """MMCL on the batch's training pairs (users[k], pos[k]); `neg` is ignored."""
        c = self.config
        u_all, i_all = self.forward()
        u, i = u_all[users], i_all[pos]

        def target(x: torch.Tensor) -> torch.Tensor:  # the bootstrapped view: dropout of sg(x)
            return F.dropout(x.detach(), c.dropout, training=True)

        u_target, i_target = target(u), target(i)
        rec = cosine_alignment(self.predictor(u), i_target) + cosine_alignment(self.predictor(i), u_target)
        inter = intra = torch.zeros((), device=u.device)
        for m in self.modalities:
            h = self.project(m, pos)
            h_online = self.predictor(h)
            inter = inter + cosine_alignment(h_online, i_target)  # modality -> item ID
            intra = intra + cosine_alignment(h_online, target(h))  # modality -> its own target
        reg = emb_loss(u_all, i_all)  # every row, over n_items
        total = rec + c.cl_weight * (inter + intra) + c.reg_weight * reg
        return {"rec": rec, "inter": inter, "intra": intra, "reg": reg, "loss": total}


def build(inputs: ModelInputs, config: BM3Config, device: torch.device) -> BM3:
    require_modalities("bm3", inputs.features)
    return BM3(
        inputs.n_users,
        inputs.n_items,
        ui_adjacency=SparseOperator(inputs.ui_adjacency, device),
        features=inputs.feature_tensors(device),
        config=config,
    ).to(device)
