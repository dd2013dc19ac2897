"""VBPR (He & McAuley, AAAI 2016), in the form the MMRec framework benchmarks.

The paper scores x_ui = β_i + γ_u·γ_i + θ_u·(E f_i) (+ β'·f_i): a latent-factor part and a
"visual" part where a learned linear map E embeds the item's content features f_i. Stacking
the two parts gives one dot product: item = [γ_i ; E f_i] (2d), user = [γ_u ; θ_u] (2d).
As in MMRec, f_i is the concatenation of every modality's features (not only the image), E
is an affine `nn.Linear` (Xavier-normal weights, zero bias, as MMRec initialises it), and the
bias terms β_i, β' are left out. Trained with BPR plus MMRec's `EmbLoss` (`losses.emb_loss`)
on the batch's (user, positive, negative) representations. Where we depart: nowhere.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import ModelInputs, embedding_table, projected_rows, require_modalities
from .losses import bpr_loss, emb_loss


@dataclass(frozen=True)
class VBPRConfig:
    embedding_dim: int = 64  # d: the ID part and the content part each; users have 2d
    reg_weight: float = 1e-4


class VBPR(nn.Module):
    def __init__(self, n_users: int, n_items: int, features: dict[str, torch.Tensor], config: VBPRConfig):
        """`features[m]` holds modality m's raw item features (rows = items); they are
        concatenated in sorted modality order."""
        super().__init__()
        require_modalities("vbpr", features)
        d = config.embedding_dim
        self.config = config
        self.modalities = sorted(features)
        # Fixed inputs: a buffer moves with .to(device) but is not a parameter.
        self.register_buffer("item_features", torch.cat([features[m] for m in self.modalities], dim=1))
        self.user_embedding = embedding_table(n_users, 2 * d)  # [γ_u ; θ_u]
        self.item_embedding = embedding_table(n_items, d)  # γ_i
        self.content = nn.Linear(self.item_features.shape[1], d)  # E
        nn.init.xavier_normal_(self.content.weight)
        nn.init.zeros_(self.content.bias)

    def item_representation(self) -> torch.Tensor:
        """[γ_i ; E f_i] of every item, items x 2d."""
        return torch.cat([self.item_embedding, self.content(self.item_features)], dim=1)

    @torch.no_grad()
    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user_embedding.detach(), self.item_representation()

    def loss(self, users, pos, neg) -> dict[str, torch.Tensor]:
        u = self.user_embedding[users]
        rows = torch.cat([pos, neg])
        content = projected_rows(self.content, self.item_features, rows)
        ip, ineg = torch.cat([self.item_embedding.index_select(0, rows), content], dim=1).split(pos.shape[0])
        bpr = bpr_loss((u * ip).sum(1), (u * ineg).sum(1))
        reg = emb_loss(u, ip, ineg)
        return {"bpr": bpr, "reg": reg, "loss": bpr + self.config.reg_weight * reg}


def build(inputs: ModelInputs, config: VBPRConfig, device: torch.device) -> VBPR:
    require_modalities("vbpr", inputs.features)
    return VBPR(inputs.n_users, inputs.n_items, inputs.feature_tensors(device), config).to(device)
