"""The losses every model shares: BPR, InfoNCE (plain and behaviour-anchored), L2."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def bpr_loss(pos_scores: torch.Tensor, neg_scores: torch.Tensor) -> torch.Tensor:
    """Mean of -log sigmoid(pos - neg); softplus is the numerically stable form."""
    return F.softplus(neg_scores - pos_scores).mean()


def l2_penalty(*embeddings: torch.Tensor) -> torch.Tensor:
    """Sum of squared entries of the batch's layer-0 embeddings, per training triple."""
    return sum(e.pow(2).sum() for e in embeddings) / embeddings[0].shape[0]


def _cosine_logits(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    # the temperature scales the n x d factor, not the n x n product: one pass fewer over n²
    return (F.normalize(a, dim=1) / temperature) @ F.normalize(b, dim=1).T


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean over rows i of -log( exp(s(a_i,b_i)/t) / sum_j exp(s(a_i,b_j)/t) ), s = cosine."""
    logits = _cosine_logits(a, b, temperature)
    return F.cross_entropy(logits, torch.arange(a.shape[0], device=a.device))


def anchor_info_nce(
    a: torch.Tensor, b: torch.Tensor, anchor: torch.Tensor, temperature: float
) -> torch.Tensor:
    """SIGER Eq 14: InfoNCE between two semantic views whose positive pair is replaced by
    the mean of each view's similarity to the behaviour anchor:
    positive exp((s(a_i, id_i) + s(b_i, id_i)) / 2t), negatives exp(s(a_i, b_j)/t), j != i.
    """
    logits = _cosine_logits(a, b, temperature)
    anchor_n = F.normalize(anchor, dim=1)
    positive = (
        (F.normalize(a, dim=1) * anchor_n).sum(1) + (F.normalize(b, dim=1) * anchor_n).sum(1)
    ) / (2 * temperature)
    logits = torch.diagonal_scatter(logits, positive)
    return F.cross_entropy(logits, torch.arange(a.shape[0], device=a.device))
