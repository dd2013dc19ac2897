"""Graph propagation shared by the models: LightGCN layers over a fixed sparse operator."""
from __future__ import annotations

import torch

from .sparse import SparseOperator, sparse_mm


class _LayerMean(torch.autograd.Function):
    """mean(e, A e, ..., A^L e) as one autograd node. Its gradient for e is
    mean(g, Aᵀ g, ..., (Aᵀ)^L g): L products with the stored transpose, summed in place,
    instead of 2L + 1 nodes whose sums autograd would allocate one by one."""

    @staticmethod
    def forward(ctx, matrix, matrix_t, e, layers):
        ctx.matrix_t, ctx.layers = matrix_t, layers
        return _power_mean(matrix, e, layers)

    @staticmethod
    def backward(ctx, grad):
        return None, None, _power_mean(ctx.matrix_t, grad, ctx.layers), None


def _power_mean(matrix: torch.Tensor, x: torch.Tensor, layers: int) -> torch.Tensor:
    weight = 1.0 / (layers + 1)  # applied as each layer is added: no pass of its own
    total = x * weight
    for _ in range(layers):
        x = sparse_mm(matrix, x)
        total.add_(x, alpha=weight)
    return total


def lightgcn(adjacency: SparseOperator, e: torch.Tensor, layers: int) -> torch.Tensor:
    """Mean of layers 0..L of e_{l+1} = A e_l (LightGCN; SIGER Eq 1-2)."""
    return _LayerMean.apply(adjacency.matrix, adjacency.matrix_t, e, layers)


def last_layer(adjacency: SparseOperator, e: torch.Tensor, layers: int) -> torch.Tensor:
    """e_L of e_{l+1} = A e_l: the item-graph convolutions of LATTICE, FREEDOM and SIGER Eq 10."""
    for _ in range(layers):
        e = adjacency @ e
    return e
