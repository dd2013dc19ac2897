"""Fixed sparse operators for graph propagation.

`torch.sparse.mm`'s autograd transposes the CSR matrix on every backward call, which costs
several times the forward. A graph is fixed for a whole run, so its transpose is built once
(or reused as-is when the matrix is symmetric) and the backward is one more sparse product.
Indices are stored as int32 where they fit: MKL's kernel takes int32, and with int64 indices
torch converts them on every call (a third of a product's time on ML-100k).
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch


def to_torch_csr(matrix: sp.spmatrix, device: torch.device | str = "cpu") -> torch.Tensor:
    """A scipy matrix as a float32 torch CSR tensor on `device`."""
    m = sp.csr_matrix(matrix, dtype=np.float32)
    m.sort_indices()
    return csr_tensor(torch.from_numpy(m.indptr), torch.from_numpy(m.indices), torch.from_numpy(m.data),
                      m.shape, device)


def csr_tensor(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, shape,
               device: torch.device | str | None = None) -> torch.Tensor:
    """A torch CSR tensor with int32 indices when they fit (see the module note), else int64."""
    fits = max(int(col.numel()), *shape) < 2**31
    index = torch.int32 if fits else torch.int64
    with warnings.catch_warnings():  # "sparse CSR support is in beta": we rely on mm only
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow.to(device=device, dtype=index), col.to(device=device, dtype=index),
                                       values.to(device=device), size=tuple(shape))


def sparse_mm(matrix: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """matrix @ dense in float32, also under autocast (`training.precision: bf16`): the sparse
    kernels have no bfloat16 form on the CPU, and sums over many neighbours want the wider
    mantissa."""
    with torch.autocast(dense.device.type, enabled=False):
        return torch.sparse.mm(matrix, dense.float())


class _SparseMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, matrix, matrix_t, dense):
        ctx.matrix_t = matrix_t
        return sparse_mm(matrix, dense)

    @staticmethod
    def backward(ctx, grad):
        return None, None, sparse_mm(ctx.matrix_t, grad)


def sparse_matmul(matrix: torch.Tensor, matrix_t: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """matrix @ dense whose gradient for `dense` is matrix_t @ grad (matrix_t = the transpose)."""
    return _SparseMatmul.apply(matrix, matrix_t, dense)


class SparseOperator:
    """A constant sparse matrix M usable as `M @ X` with a cheap, exact gradient for X."""

    def __init__(self, matrix: sp.spmatrix, device: torch.device | str = "cpu"):
        m = sp.csr_matrix(matrix, dtype=np.float32)
        self.shape = m.shape
        self.symmetric = m.shape[0] == m.shape[1] and (m != m.T).nnz == 0
        self.matrix = to_torch_csr(m, device)
        self.matrix_t = self.matrix if self.symmetric else to_torch_csr(m.T, device)

    def __matmul__(self, dense: torch.Tensor) -> torch.Tensor:
        return sparse_matmul(self.matrix, self.matrix_t, dense)


class DeviceSparseOperator(SparseOperator):
    """A SparseOperator assembled on the device from COO tensors, for graphs that change
    during training (FREEDOM's pruned graph, LATTICE's learned one); `SparseOperator` itself
    takes a host scipy matrix. Duplicate (row, col) entries are summed."""

    def __init__(self, rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, shape, symmetric: bool = False):
        # SparseOperator.__init__ is skipped on purpose: it converts from scipy on the host.
        self.shape = tuple(shape)
        self.symmetric = symmetric
        self.matrix = _device_csr(rows, cols, values, self.shape)
        self.matrix_t = self.matrix if symmetric else _device_csr(cols, rows, values, self.shape[::-1])

    def to_dense(self) -> torch.Tensor:
        return self.matrix.to_dense()


def _device_csr(rows, cols, values, shape) -> torch.Tensor:
    with warnings.catch_warnings():  # "sparse CSR support is in beta": we rely on mm only
        warnings.simplefilter("ignore", UserWarning)
        csr = torch.sparse_coo_tensor(torch.stack([rows, cols]), values.float(), shape).coalesce().to_sparse_csr()
    return csr_tensor(csr.crow_indices(), csr.col_indices(), csr.values(), shape)
