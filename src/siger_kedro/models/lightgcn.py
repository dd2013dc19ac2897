"""LightGCN (He et al., SIGIR 2020): SIGER Eq 1-2 alone, trained with BPR and MMRec's L2 form
(`losses.emb_loss`: unsquared norms of the batch's layer-0 embeddings over the batch size)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import ModelInputs, embedding_table, split_users_items
from .losses import batch_bpr_loss, squared_norms_of_rows
from .propagation import lightgcn
from .sparse import SparseOperator


@dataclass(frozen=True)
class LightGCNConfig:
    embedding_dim: int = 64
    layers: int = 3
    reg_weight: float = 1e-4


class LightGCN(nn.Module):
    def __init__(self, n_users: int, n_items: int, ui_adjacency: SparseOperator, config: LightGCNConfig):
        super().__init__()
        self.n_users, self.config, self.ui_adjacency = n_users, config, ui_adjacency
        self.user_embedding = embedding_table(n_users, config.embedding_dim)
        self.item_embedding = embedding_table(n_items, config.embedding_dim)

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer-0 embeddings of users then items, and their LightGCN output."""
        e = torch.cat([self.user_embedding, self.item_embedding])
        return e, lightgcn(self.ui_adjacency, e, self.config.layers)

    @torch.no_grad()
    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        return split_users_items(self.propagate()[1], self.n_users)

    def loss(self, users, pos, neg) -> dict[str, torch.Tensor]:
        e0, e = self.propagate()
        pos, neg = pos + self.n_users, neg + self.n_users  # rows of e: users, then items
        bpr = batch_bpr_loss(e, e, users, pos, neg)
        # emb_loss(e0[users], e0[pos], e0[neg]) without the gathers
        reg = sum(squared_norms_of_rows(e0, rows).sqrt() for rows in (users, pos, neg)) / len(users)
        return {"bpr": bpr, "reg": reg, "loss": bpr + self.config.reg_weight * reg}


def build(inputs: ModelInputs, config: LightGCNConfig, device: torch.device) -> LightGCN:
    return LightGCN(inputs.n_users, inputs.n_items, SparseOperator(inputs.ui_adjacency, device), config).to(device)
