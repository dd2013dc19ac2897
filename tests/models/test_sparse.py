import numpy as np
import scipy.sparse as sp
import torch

from siger_kedro.models.propagation import lightgcn
from siger_kedro.models.sparse import SparseOperator


def _check_grad(m):
    op = SparseOperator(m)
    x = torch.randn(m.shape[1], 3, dtype=torch.float32, requires_grad=True)
    y = op @ x
    dense = torch.tensor(m.toarray(), dtype=torch.float32)
    assert torch.allclose(y, dense @ x, atol=1e-5)
    g = torch.randn_like(y)
    (y * g).sum().backward()
    assert torch.allclose(x.grad, dense.T @ g, atol=1e-5)
    return op


def test_symmetric_matrix_reuses_itself_as_transpose():
    torch.manual_seed(0)
    a = sp.random(6, 6, density=0.5, random_state=1, dtype=np.float32)
    op = _check_grad((a + a.T).tocsr())
    assert op.symmetric and op.matrix_t is op.matrix


def test_non_symmetric_and_rectangular_gradients_are_exact():
    torch.manual_seed(0)
    square = sp.random(5, 5, density=0.5, random_state=2, dtype=np.float32).tocsr()
    assert not _check_grad(square).symmetric
    _check_grad(sp.random(4, 7, density=0.4, random_state=3, dtype=np.float32).tocsr())


def test_indices_are_int32_where_they_fit():
    op = SparseOperator(sp.random(4, 7, density=0.4, random_state=3, dtype=np.float32).tocsr())
    assert op.matrix.crow_indices().dtype == torch.int32 and op.matrix_t.col_indices().dtype == torch.int32


def test_layer_mean_matches_dense_layers_and_their_gradient():
    torch.manual_seed(0)
    m = sp.random(6, 6, density=0.5, random_state=4, dtype=np.float32).tocsr()  # not symmetric
    dense = torch.tensor(m.toarray())
    x = torch.randn(6, 3, requires_grad=True)
    y = lightgcn(SparseOperator(m), x, layers=3)
    x_ref = x.detach().clone().requires_grad_(True)
    layers = [x_ref]
    for _ in range(3):
        layers.append(dense @ layers[-1])
    y_ref = torch.stack(layers).mean(0)
    assert torch.allclose(y, y_ref, atol=1e-5)
    g = torch.randn_like(y)
    (y * g).sum().backward()
    (y_ref * g).sum().backward()
    assert torch.allclose(x.grad, x_ref.grad, atol=1e-5)
