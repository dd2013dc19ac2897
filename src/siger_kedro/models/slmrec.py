"""SLMRec (Tao et al., IEEE TMM 2022): "Self-supervised Learning for Multimedia Recommendation".

Encoder (paper §III; the authors' code and MMRec agree): one view per source, the item ID
embedding and every modality m, each propagated by LightGCN (layer mean) on the user-item graph.
A view's item input is the ID embedding or Linear_m(x_m / ||x_m||) (L2-normalised features
projected to d); its user input is the user ID embedding, shared by all views. The views'
outputs are concatenated and mapped to d by one linear layer for users and one for items
("concat" fusion; "mean" averages the views instead, before the same linear layer).

Main task: the reference implementations (the authors' `multi_loss` and MMRec) train with an
in-batch softmax, InfoNCE between the user and the positive item of each training pair
(temperature `temperature`), not with BPR; that is the default here (`main_loss="infonce"`,
`neg` is then unused). `main_loss="bpr"` trains with the shared BPR on the sampled negatives.

SSL tasks (`ssl_task`), each added with weight `ssl_alpha`, an InfoNCE at temperature
`ssl_temp` over the batch's rows (duplicates included, as in the reference):
- "FAC" (fine and coarse spaces; MMRec's default and the one used for the paper's baselines):
  the ID view and the modality views are compared in a chain of spaces, modality k in space
  S_k. The ID item representation z_1 = g_1(id) is contrasted with p_1 = h_1(m_1) in S_1, and
  z_k = g_k(z_{k-1}) with p_k = h_k(m_k) in S_k. Every space has dimension d except the last
  (coarsest) one, of d // 2, when there are two or more modalities (the paper's ID-visual fine
  space and ID-visual-acoustic-text coarse space). Modalities enter the chain in sorted name
  order, so the last-sorted one is the coarse one ("text" after "image"; after "genre").
  The reference has no audio features but keeps the audio space's map in the ID chain before
  the coarse space (z passes one more d x d linear layer there, `fac_audio_space`), and scores
  FAC pairs by the plain dot product / ssl_temp (`fac_similarity="dot"`; "cosine" normalises).
- "FD" (feature dropout): two views of the whole encoder with independent dropout (rate
  `dropout`) on every propagated layer; cosine InfoNCE between the views for users and items.
- "FM" (feature masking): two views, each with one source (ID or a modality), drawn uniformly
  without replacement, zeroed for all items before propagation; InfoNCE between the views.
- "FD+FM": masking plus layer dropout.

Regularisation: the reference trains with Adam's weight_decay 1e-4 on every parameter (a
training setting: `slmrec.training.weight_decay` in its YAML) and no loss term; `reg_weight`
(default 0) adds the shared batch L2 of the layer-0 ID embeddings on top.

Where we depart: nowhere by default (FAC on image + text). The FD and FM tasks, which
MMRec's port cannot run without audio features, follow the paper over any modalities.

All views share one propagation: they are stacked along the feature axis, so each layer is a
single sparse product over a (U+I) x (V*d) matrix, exactly the per-view results.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import ModelInputs, check_choices, embedding_table, require_modalities, split_users_items
from .losses import bpr_loss, info_nce, l2_penalty
from .propagation import lightgcn
from .sparse import SparseOperator

SSL_TASKS = ("FAC", "FD", "FM", "FD+FM", "none")


@dataclass(frozen=True)
class SLMRecConfig:
    embedding_dim: int = 64
    layers: int = 3
    ssl_task: str = "FAC"
    ssl_alpha: float = 0.1  # weight of the SSL task; MMRec grid [0.01, 0.05, 0.1, 0.5, 1.0]
    ssl_temp: float = 0.2  # grid [0.1, 0.2, 0.5, 1.0]
    temperature: float = 0.2  # main-task InfoNCE
    dropout: float = 0.3  # FD layer dropout
    main_loss: str = "infonce"  # or "bpr"
    fusion: str = "concat"  # or "mean"
    fac_similarity: str = "dot"  # the reference's FAC logits; or "cosine"
    fac_audio_space: bool = True  # the reference's extra ID-chain map into the (empty) audio space
    reg_weight: float = 0.0  # batch L2 on the ID embeddings; the reference uses Adam weight decay instead

    def __post_init__(self):
        check_choices("slmrec", self, {"ssl_task": SSL_TASKS, "main_loss": ("infonce", "bpr"),
                                       "fusion": ("concat", "mean"), "fac_similarity": ("dot", "cosine")})


def propagate_with_dropout(adjacency: SparseOperator, e: torch.Tensor, layers: int, p: float) -> torch.Tensor:
    """LightGCN layer mean where each layer's output passes through dropout before it is
    averaged and propagated further (SLMRec's FD view); p = 0 is plain LightGCN."""
    total = e
    for _ in range(layers):
        e = F.dropout(adjacency @ e, p, training=True)
        total = total + e
    return total / (layers + 1)


def source_masks(n_sources: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """FM's two views: a (2, n_sources) 0/1 matrix, each row zeroing one source, the two
    sources distinct and drawn uniformly (torch's global generator: seeded runs repeat).
    Built on the device without a host round-trip."""
    chosen = torch.randperm(n_sources, device=device)[:2]
    masks = torch.ones(2, n_sources, device=device)
    masks[torch.arange(2, device=device), chosen] = 0.0
    return masks


def fac_dims(d: int, n_modalities: int) -> list[int]:
    """Dimension of each FAC space, finest first: d, ..., d, then d // 2 for the coarsest
    when there are at least two modalities."""
    return [d] * (n_modalities - 1) + [d // 2 if n_modalities > 1 else d]


class SLMRec(nn.Module):
    def __init__(
        self,
        n_users: int,
        n_items: int,
        ui_adjacency: SparseOperator,
        features: dict[str, torch.Tensor],
        config: SLMRecConfig = SLMRecConfig(),
    ):
        super().__init__()
        require_modalities("slmrec", features)
        d = config.embedding_dim
        self.n_users, self.n_items, self.config, self.ui_adjacency = n_users, n_items, config, ui_adjacency
        self.modalities = sorted(features)
        self.n_views = len(self.modalities) + 1  # the ID view, then the modalities
        # raw features are L2-normalised once (both reference implementations do)
        self.features = {m: F.normalize(features[m], dim=1) for m in self.modalities}
        self.user_embedding = embedding_table(n_users, d)
        self.item_embedding = embedding_table(n_items, d)
        self.dense = nn.ModuleDict({m: nn.Linear(features[m].shape[1], d) for m in self.modalities})
        fused = d * self.n_views if config.fusion == "concat" else d
        self.user_fusion, self.item_fusion = nn.Linear(fused, d), nn.Linear(fused, d)
        for layer in [*self.dense.values(), self.user_fusion, self.item_fusion]:
            nn.init.xavier_uniform_(layer.weight)
        if config.ssl_task == "FAC":
            dims = fac_dims(d, len(self.modalities))
            # g: the ID chain S_1 -> S_2 -> ...; h: each modality into its space
            self.fac_id = nn.ModuleList(nn.Linear(d if k == 0 else dims[k - 1], dims[k]) for k in range(len(dims)))
            self.fac_modality = nn.ModuleList(nn.Linear(d, dims[k]) for k in range(len(dims)))
            # the reference's audio step, d -> d, just before the coarse space
            self.fac_audio = nn.Linear(d, d) if config.fac_audio_space and len(dims) > 1 else None
            for layer in [*self.fac_id, *self.fac_modality, *([self.fac_audio] if self.fac_audio else [])]:
                nn.init.xavier_uniform_(layer.weight)

    # -- encoder -----------------------------------------------------------------------------
    def view_inputs(self) -> torch.Tensor:
        """(U+I) x (V*d): every view's layer-0 embeddings side by side (ID view first)."""
        items = torch.cat([self.item_embedding, *(self.dense[m](self.features[m]) for m in self.modalities)], 1)
        users = self.user_embedding.repeat(1, self.n_views)  # users are shared by the views
        return torch.cat([users, items])

    def propagate(self, x: torch.Tensor, dropout: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-view LightGCN: one sparse product per layer for all views at once."""
        if dropout > 0:
            out = propagate_with_dropout(self.ui_adjacency, x, self.config.layers, dropout)
        else:
            out = lightgcn(self.ui_adjacency, x, self.config.layers)
        return split_users_items(out, self.n_users)

    def fuse(self, users: torch.Tensor, items: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.config.fusion == "mean":
            d = self.config.embedding_dim
            users = users.view(-1, self.n_views, d).mean(1)
            items = items.view(-1, self.n_views, d).mean(1)
        return self.user_fusion(users), self.item_fusion(items)

    def views(self, items: torch.Tensor, k: int) -> torch.Tensor:
        """View k (0 = ID, then modalities in sorted order) of propagated item rows."""
        d = self.config.embedding_dim
        return items[:, k * d:(k + 1) * d]

    def forward(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(fused users, fused items, propagated per-view items)."""
        users, items = self.propagate(self.view_inputs())
        fused_users, fused_items = self.fuse(users, items)
        return fused_users, fused_items, items

    @torch.no_grad()
    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        users, items, _ = self.forward()
        return users, items

    # -- objective ---------------------------------------------------------------------------
    def loss(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> dict[str, torch.Tensor]:
        c = self.config
        x = self.view_inputs()
        u_all, i_all = self.propagate(x)
        fused_u, fused_i = self.fuse(u_all, i_all)
        u, i = fused_u[users], fused_i[pos]
        if c.main_loss == "infonce":  # in-batch softmax over the batch's positives
            main = info_nce(u, i, c.temperature)
            reg = l2_penalty(self.user_embedding[users], self.item_embedding[pos])
        else:
            main = bpr_loss((u * i).sum(1), (u * fused_i[neg]).sum(1))
            reg = l2_penalty(self.user_embedding[users], self.item_embedding[pos], self.item_embedding[neg])
        bu, bi = users, pos  # every row of the batch, as the reference
        if c.ssl_task == "FAC":
            ssl = self.fac_loss(i_all, bi)
        elif c.ssl_task == "FD":
            ssl = self.two_view_loss(x, x, bu, bi, c.dropout)
        elif c.ssl_task in ("FM", "FD+FM"):
            masks = source_masks(self.n_views, x.device).repeat_interleave(c.embedding_dim, dim=1)
            n_users = self.n_users
            # users are never masked: only the items' copy of the chosen source is zeroed
            x1 = torch.cat([x[:n_users], x[n_users:] * masks[0]])
            x2 = torch.cat([x[:n_users], x[n_users:] * masks[1]])
            ssl = self.two_view_loss(x1, x2, bu, bi, c.dropout if c.ssl_task == "FD+FM" else 0.0)
        else:
            ssl = torch.zeros((), device=u.device)
        total = main + c.ssl_alpha * ssl + c.reg_weight * reg
        return {"main": main, "ssl": ssl, "reg": reg, "loss": total}

    def fac_loss(self, items: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """FAC: the ID chain z_k against modality k's projection in space S_k."""
        z = self.views(items, 0)[idx]
        total = torch.zeros((), device=items.device)
        last = len(self.modalities) - 1
        for k in range(len(self.modalities)):
            if k == last and self.fac_audio is not None:
                z = self.fac_audio(z)
            z = self.fac_id[k](z)
            p = self.fac_modality[k](self.views(items, k + 1)[idx])
            total = total + info_nce(z, p, self.config.ssl_temp, cosine=self.config.fac_similarity == "cosine")
        return total

    def two_view_loss(self, x1, x2, users, items, dropout: float) -> torch.Tensor:
        """FD / FM: InfoNCE between two augmented encoder passes, for users and for items."""
        u1, i1 = self.fuse(*self.propagate(x1, dropout))
        u2, i2 = self.fuse(*self.propagate(x2, dropout))
        t = self.config.ssl_temp
        return info_nce(u1[users], u2[users], t) + info_nce(i1[items], i2[items], t)


def build(inputs: ModelInputs, config: SLMRecConfig, device: torch.device) -> SLMRec:
    require_modalities("slmrec", inputs.features)
    return SLMRec(
        inputs.n_users,
        inputs.n_items,
        ui_adjacency=SparseOperator(inputs.ui_adjacency, device),
        features=inputs.feature_tensors(device),
        config=config,
    ).to(device)
