"""What every model receives and what the shared training loop asks of it (`Model`,
`ModelModule`; docs/adding-a-model.md walks through adding one).

A model is a `torch.nn.Module` with
- `loss(users, pos, neg) -> {"loss": total, <term>: value, ...}` on a batch of training
  triples (a model that needs no negatives ignores `neg`);
- `embeddings() -> (user_embeddings, item_embeddings)`: scores are their dot products;
- optionally `start_epoch(epoch)`, called before each epoch's first batch (FREEDOM re-prunes
  its user-item graph there, LATTICE rebuilds its learned item graph).

Graphs are computed by the pipeline's graph stage or by a model's `build` function from the
shared graph helpers; a model constructor only receives them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn


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

    @property
    def modalities(self) -> list[str]:
        return sorted(self.features)

    def feature_tensors(self, device: torch.device) -> dict[str, torch.Tensor]:
        return {m: torch.as_tensor(self.features[m], dtype=torch.float32, device=device) for m in self.modalities}

    def train_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(users, items) of the training interactions, row-major."""
        coo = self.train.tocoo()
        order = np.lexsort((coo.col, coo.row))
        return coo.row[order].astype(np.int64), coo.col[order].astype(np.int64)


def split_users_items(e: torch.Tensor, n_users: int) -> tuple[torch.Tensor, torch.Tensor]:
    return e[:n_users], e[n_users:]


def embedding_table(n: int, d: int) -> nn.Parameter:
    """A trainable n x d embedding table, Xavier-uniform initialised (LightGCN's and MMRec's choice)."""
    return nn.Parameter(nn.init.xavier_uniform_(torch.empty(n, d)))


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
