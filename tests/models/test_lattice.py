import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tiny import N_ITEMS, N_USERS, tiny_inputs

from siger_kedro.graphs.knn import knn_graph, normalized_cosine_graph
from siger_kedro.models.lattice import (
    LatticeConfig,
    build,
    gather_matmul,
    knn_indices,
    knn_similarities,
    normalized_mix,
    row_normalized_adjacency,
)
from siger_kedro.models.losses import bpr_loss


def _dense(idx, values, n):
    return torch.zeros(n, n).scatter_add(1, idx, values)


def test_learned_graph_keeps_top_k_cosines_and_normalises_hand_computed():
    # cosines: (0,1) = 0.8, (0,2) = 0, (1,2) = 0.6; row scale must not matter
    x = torch.tensor([[2.0, 0.0], [0.8, 0.6], [0.0, 3.0]])
    idx, sim = knn_similarities(x, k=2)
    assert torch.allclose(_dense(idx, sim, 3), torch.tensor([[1, 0.8, 0], [0.8, 1, 0], [0, 0.6, 1]]), atol=1e-6)
    (values,) = normalized_mix([(idx, sim)], torch.ones(1))
    # row sums of the kept cosines: 1.8, 1.8, 1.6
    expected = torch.tensor(
        [
            [1 / 1.8, 0.8 / 1.8, 0.0],
            [0.8 / 1.8, 1 / 1.8, 0.0],
            [0.0, 0.6 / (1.6 * 1.8) ** 0.5, 1 / 1.6],
        ]
    )
    assert torch.allclose(_dense(idx, values, 3), expected, atol=1e-6)


def test_modalities_are_mixed_before_one_normalisation_hand_computed():
    a = knn_similarities(torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]), k=2)  # as above
    b = knn_similarities(torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.6, 0.8]]), k=2)  # (0,2) .8, (1,2) .6
    va, vb = normalized_mix([a, b], torch.tensor([0.25, 0.75]))
    mix = 0.25 * torch.tensor([[1, 0.8, 0], [0.8, 1, 0], [0, 0.6, 1]]) + 0.75 * torch.tensor(
        [[1, 0, 0.8], [0, 1, 0.6], [0.8, 0, 1]]
    )
    d = torch.tensor([1 + 0.2 + 0.6, 0.2 + 1 + 0.45, 0.6 + 0.15 + 1])  # row sums of the mix
    assert torch.allclose(mix.sum(1), d)
    expected = mix / (d.unsqueeze(1) * d.unsqueeze(0)).sqrt()
    assert torch.allclose(_dense(a[0], va, 3) + _dense(b[0], vb, 3), expected, atol=1e-6)


def test_learned_graph_is_differentiable_in_the_projection():
    x = torch.randn(6, 3, requires_grad=True)
    idx, sim = knn_similarities(x, k=3)
    (values,) = normalized_mix([(idx, sim)], torch.ones(1))
    gather_matmul(idx, values, torch.randn(6, 2)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_chunked_top_k_equals_unchunked():
    x = F.normalize(torch.randn(23, 5), dim=1)
    whole = knn_indices(x, 4)
    assert torch.equal(knn_indices(x, 4, chunk_rows=1), whole)
    assert torch.equal(knn_indices(x, 4, chunk_rows=7), whole)
    assert (whole[:, 0] == torch.arange(23)).all()  # each item is its own nearest neighbour


def test_original_graph_weights_by_clamped_cosine_hand_computed():
    # cos(0,1) = 0.7071; item 2 is dissimilar to both: its best other neighbour has cos < 0
    x = np.array([[1.0, 0.0], [1.0, 1.0], [-1.0, 0.1]], dtype=np.float32)
    g = normalized_cosine_graph(knn_graph(x, k=2)).toarray()
    c = 1 / np.sqrt(2)
    expected = np.array([[1 / (1 + c), c / (1 + c), 0], [c / (1 + c), 1 / (1 + c), 0], [0, 0, 1]])
    np.testing.assert_allclose(g, expected, rtol=1e-5)


def _model(**hyper):
    torch.manual_seed(0)
    return build(tiny_inputs(), LatticeConfig(embedding_dim=4, **hyper), torch.device("cpu"))


def test_item_graph_mixes_learned_and_original_with_softmax_weights():
    model = _model(knn_k=3, lambda_coeff=0.9)
    with torch.no_grad():
        model.modal_logits.copy_(torch.tensor([0.3, -0.2]))  # image, text
    parts = model.graph_parts()
    e = np.exp([0.3, -0.2])
    alpha = torch.tensor(e / e.sum(), dtype=torch.float32)
    learned = [knn_similarities(model.projections[m](model.features[m]), 3) for m in ("image", "text")]
    raw = sum(a * _dense(idx, v.detach(), N_ITEMS) for a, (idx, v) in zip(alpha, learned))
    d = raw.sum(1)
    expected = 0.1 * raw / (d.unsqueeze(1) * d.unsqueeze(0)).sqrt() + 0.9 * sum(
        a * orig.matrix.to_dense() for a, (*_, orig) in zip(alpha, parts)
    )
    combined = model.combined_operator(parts).to_dense()
    assert torch.allclose(combined, expected, atol=1e-6)
    assert [float(a) for a, *_ in parts] == pytest.approx(alpha.tolist())
    # the differentiable path and the detached operator propagate identically
    h = torch.randn(N_ITEMS, 4)
    assert torch.allclose(model.propagate_parts(parts, h), combined @ h, atol=1e-6)


def test_graph_learns_on_each_epochs_first_batch_only():
    model = _model()
    users, pos, neg = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]), torch.tensor([5, 6, 7])
    model.start_epoch(1)
    model.loss(users, pos, neg)["loss"].backward()
    assert model.projections["text"].weight.grad.abs().sum() > 0
    assert model.modal_logits.grad.abs().sum() > 0
    graph = model.item_graph
    model.zero_grad(set_to_none=True)
    model.loss(users, pos, neg)["loss"].backward()
    assert model.projections["text"].weight.grad is None  # detached graph reused
    assert model.item_graph is graph
    model.start_epoch(2)
    assert model.item_graph is None


def test_user_item_graph_is_mmrecs_row_normalised_graph_with_self_loops():
    r = np.array([[1, 0], [1, 1]], dtype=np.float32)  # nodes u0 u1 i0 i1; with self-loops degrees 2, 3, 3, 2
    a = row_normalized_adjacency(r).toarray()
    expected = np.array([[1 / 2, 0, 1 / 2, 0], [0, 1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3, 0], [0, 1 / 2, 0, 1 / 2]])
    assert np.allclose(a, expected)
    a = row_normalized_adjacency(tiny_inputs().train).toarray()
    assert np.allclose(a.sum(1), 1.0) and (np.diag(a) > 0).all()


def test_raw_features_are_fine_tuned_through_the_learned_graph_by_default():
    model = _model()
    model.start_epoch(1)
    model.loss(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([5, 6]))["loss"].backward()
    assert model.features["text"].grad is not None and model.features["text"].grad.abs().sum() > 0
    assert not any(p.requires_grad for p in _model(finetune_features=False).features.values())


def test_item_representation_adds_unit_norm_graph_embedding_and_loss_terms():
    model = _model(reg_weight=0.5)
    users_e, items_e = model.embeddings()
    a = torch.as_tensor(row_normalized_adjacency(tiny_inputs().train).toarray())
    e0 = torch.cat([model.user_embedding, model.item_embedding]).detach()
    e1 = a @ e0
    mean = (e0 + e1 + a @ e1) / 3
    assert torch.allclose(users_e, mean[:N_USERS], atol=1e-6)
    assert torch.allclose((items_e - mean[N_USERS:]).norm(dim=1), torch.ones(N_ITEMS), atol=1e-5)
    users, pos, neg = torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([5, 6])
    model.start_epoch(1)
    t = model.loss(users, pos, neg)
    u, i = model.forward(model.propagate_parts(model.graph_parts(), model.item_embedding))
    assert torch.isclose(t["bpr"], bpr_loss((u[users] * i[pos]).sum(1), (u[users] * i[neg]).sum(1)))
    half = (u[users].square().sum() + i[pos].square().sum() + i[neg].square().sum()) / 2 / 2  # ½ Σ‖·‖² / batch
    assert torch.isclose(t["reg"], half)
    assert torch.isclose(t["loss"], t["bpr"] + 0.5 * t["reg"])


def test_any_modalities_and_none_rejected():
    model = build(tiny_inputs(modalities=("text", "genre", "image")), LatticeConfig(embedding_dim=4), torch.device("cpu"))
    assert model.modalities == ["genre", "image", "text"] and model.modal_logits.shape == (3,)
    assert torch.isfinite(model.embeddings()[1]).all()
    with pytest.raises(ValueError, match="lattice needs at least one modality feature, the dataset has none"):
        build(tiny_inputs(modalities=()), LatticeConfig(), torch.device("cpu"))
