import numpy as np
import pytest
import scipy.sparse as sp
import torch
from tiny import N_ITEMS, N_USERS, tiny_inputs

from siger_kedro.graphs.knn import knn_graph
from siger_kedro.graphs.normalize import ui_adjacency
from siger_kedro.models.freedom import (
    FreedomConfig,
    build,
    degree_sensitive_weights,
    frozen_item_graph,
    kept_edge_count,
    modality_weights,
    prune_edges,
    pruned_adjacency,
)
from siger_kedro.models.losses import bpr_loss

R = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]], dtype=np.float32))  # d_u = (2, 2), d_i = (1, 2, 1)


def test_keep_weights_are_inverse_sqrt_degree_products():
    users, items, w = degree_sensitive_weights(R)
    assert users.tolist() == [0, 0, 1, 1] and items.tolist() == [0, 1, 1, 2]
    s2, half = 1 / np.sqrt(2), 0.5  # 1/sqrt(2*1), 1/sqrt(2*2)
    np.testing.assert_allclose(w, [s2, half, half, s2], rtol=1e-6)
    total = 2 * s2 + 2 * half
    np.testing.assert_allclose(w / w.sum(), [s2 / total, half / total, half / total, s2 / total], rtol=1e-6)
    np.testing.assert_allclose((w / w.sum())[:2], [0.292893, 0.207107], atol=1e-6)


def test_kept_edge_count():
    assert kept_edge_count(10, 0.8) == 2  # floor(10 * 0.2), not the 1 float rounding gives
    assert kept_edge_count(100, 0.9) == 10
    assert kept_edge_count(7, 0.5) == 3
    assert kept_edge_count(3, 0.9) == 1  # never an empty graph
    assert kept_edge_count(5, 0.0) == 5
    with pytest.raises(ValueError, match="dropout"):
        kept_edge_count(10, 1.0)


def test_pruning_draws_edges_with_the_hand_computed_probabilities():
    _, _, w = degree_sensitive_weights(R)
    weights = torch.as_tensor(w)
    torch.manual_seed(0)
    draws = torch.stack([prune_edges(weights, 1) for _ in range(4000)]).ravel()
    freq = torch.bincount(draws, minlength=4).float() / draws.numel()
    assert torch.allclose(freq, torch.tensor([0.2929, 0.2071, 0.2071, 0.2929]), atol=0.03)
    kept = prune_edges(weights, 3)
    assert kept.numel() == 3 and kept.unique().numel() == 3  # without replacement


def test_pruned_adjacency_renormalises_with_kept_degrees():
    users, items = torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1])  # edge (1, 2) pruned
    dense = pruned_adjacency(users, items, 2, 3).to_dense()
    # kept degrees: users (2, 1), items (1, 2, 0); user u is node u, item i is node 2 + i
    expected = np.zeros((5, 5), dtype=np.float32)
    for u, i, v in [(0, 0, 1 / np.sqrt(2)), (0, 1, 0.5), (1, 1, 1 / np.sqrt(2))]:
        expected[u, 2 + i] = expected[2 + i, u] = v
    np.testing.assert_allclose(dense.numpy(), expected, rtol=1e-6)
    kept = sp.csr_matrix((np.ones(3), (users.numpy(), items.numpy())), shape=(2, 3))
    np.testing.assert_allclose(dense.numpy(), ui_adjacency(kept).toarray(), rtol=1e-6)


def test_modality_weights_follow_mmrecs_text_and_vision_roles():
    assert modality_weights(["text", "image"]) == pytest.approx({"image": 0.1, "text": 0.9})
    assert modality_weights(["text", "genre"]) == pytest.approx({"text": 0.9, "genre": 0.1})  # genre: vision's part
    assert modality_weights(["text", "image", "genre"]) == pytest.approx({"image": 0.05, "text": 0.9, "genre": 0.05})
    assert modality_weights(["image", "genre"]) == pytest.approx({"image": 0.5, "genre": 0.5})  # no text role
    assert modality_weights(["image"]) == {"image": 1.0}
    assert modality_weights(["image", "text"], image_weight=0.3) == pytest.approx({"image": 0.3, "text": 0.7})
    assert modality_weights(["image", "text"], explicit={"image": 1, "text": 3}) == pytest.approx(
        {"image": 0.25, "text": 0.75}
    )
    with pytest.raises(ValueError, match="names"):
        modality_weights(["image", "text"], explicit={"image": 1.0})


def test_frozen_item_graph_mixes_normalised_binary_knn_graphs():
    image = np.array([[1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32)  # neighbours {0,1} {0,1} {1,2}
    text = np.array([[0, 1], [1, 0], [1, 0.1]], dtype=np.float32)  # neighbours {0,2} {1,2} {1,2}
    knn = {"image": knn_graph(image, k=2), "text": knn_graph(text, k=2)}
    g = frozen_item_graph(knn, {"image": 0.1, "text": 0.9}).toarray()
    # each binary row has k = 2 ones, so every normalised entry is 1/2
    expected = 0.1 * np.array([[0.5, 0.5, 0], [0.5, 0.5, 0], [0, 0.5, 0.5]]) + 0.9 * np.array(
        [[0.5, 0, 0.5], [0, 0.5, 0.5], [0, 0.5, 0.5]]
    )
    np.testing.assert_allclose(g, expected, rtol=1e-6)


def _model(**hyper):
    torch.manual_seed(0)
    return build(tiny_inputs(), FreedomConfig(embedding_dim=4, **hyper), torch.device("cpu"))


def test_each_epoch_prunes_to_the_expected_number_of_edges():
    model = _model(dropout=0.8)
    n_edges = tiny_inputs().train.nnz
    n_keep = int(np.floor(n_edges * 0.2 + 1e-6))
    model.start_epoch(1)
    first = model.train_adjacency.to_dense()
    assert int((first != 0).sum()) == 2 * n_keep  # both directions of every kept edge
    assert torch.equal(first, first.T)
    model.start_epoch(2)
    assert not torch.equal(first, model.train_adjacency.to_dense())  # resampled
    full = _model(dropout=0.0)
    assert full.prune() is full.ui_adjacency


def test_item_output_adds_one_frozen_graph_layer_and_scoring_uses_full_graph():
    model = _model()
    model.start_epoch(1)
    users, items = model.embeddings()
    a = torch.as_tensor(tiny_inputs().ui_adjacency.toarray())
    e0 = torch.cat([model.user_embedding, model.item_embedding]).detach()
    e1 = a @ e0
    mean = (e0 + e1 + a @ e1) / 3
    graph = model.item_graph.matrix.to_dense()
    assert torch.allclose(users, mean[:N_USERS], atol=1e-6)
    assert torch.allclose(items, mean[N_USERS:] + graph @ model.item_embedding.detach(), atol=1e-6)


def test_loss_adds_weighted_bpr_on_projected_features():
    model = _model(reg_weight=0.5)
    model.start_epoch(1)
    users, pos, neg = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]), torch.tensor([5, 6, 7])
    t = model.loss(users, pos, neg)
    u, i = model.forward(model.train_adjacency)
    ub = u[users]
    modal = sum(
        bpr_loss((ub * model.projections[m](x[pos])).sum(1), (ub * model.projections[m](x[neg])).sum(1))
        for m, x in model.features.items()
    )
    assert set(model.projections) == {"image", "text"}
    assert torch.isclose(t["bpr"], bpr_loss((ub * i[pos]).sum(1), (ub * i[neg]).sum(1)))
    assert torch.isclose(t["modal_bpr"], modal)
    assert torch.isclose(t["loss"], t["bpr"] + 0.5 * modal)


def test_without_the_modal_terms_the_step_is_bprs_alone():
    """reg_weight 0 (in the search grid) skips the modality terms: the ID tables get BPR's
    gradient exactly, and the features and projections none (Adam would not move them)."""
    users, pos, neg = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]), torch.tensor([5, 6, 7])
    grads = []
    for reg_weight, term in ((0.0, "loss"), (0.5, "bpr")):
        torch.manual_seed(0)
        model = _model(reg_weight=reg_weight)
        torch.manual_seed(1)
        model.start_epoch(1)
        t = model.loss(users, pos, neg)
        assert ("modal_bpr" in t) == (reg_weight > 0)
        t[term].backward()
        grads.append((model.user_embedding.grad, model.item_embedding.grad))
        if reg_weight == 0:
            assert all(p.grad is None for p in (*model.features.values(), *model.projections.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_needs_a_modality():
    with pytest.raises(ValueError, match="freedom needs at least one modality feature, the dataset has none"):
        build(tiny_inputs(modalities=()), FreedomConfig(), torch.device("cpu"))
    model = build(tiny_inputs(modalities=("text", "genre")), FreedomConfig(embedding_dim=4), torch.device("cpu"))
    assert model.embeddings()[1].shape == (N_ITEMS, 4)


def test_raw_features_are_fine_tuned_by_default_as_in_mmrec():
    inputs = tiny_inputs()
    model = _model(reg_weight=0.5)
    assert model.features["text"].requires_grad
    assert torch.equal(model.features["text"].detach(), torch.as_tensor(inputs.features["text"]))
    model.start_epoch(1)
    model.loss(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([5, 6]))["loss"].backward()
    assert model.features["text"].grad is not None and model.features["text"].grad.abs().sum() > 0
    fixed = _model(finetune_features=False)
    assert not any(p.requires_grad for p in fixed.features.values())


def test_text_and_genre_graph_is_mixed_nine_to_one():
    inputs = tiny_inputs(modalities=("text", "genre"))
    model = build(inputs, FreedomConfig(embedding_dim=4), torch.device("cpu"))
    expected = frozen_item_graph({m: inputs.knn_graph(m, 10) for m in ("text", "genre")}, {"text": 0.9, "genre": 0.1})
    np.testing.assert_allclose(model.item_graph.matrix.to_dense().numpy(), expected.toarray(), rtol=1e-6)


def test_modal_terms_need_no_torch_unique_for_small_or_large_batches(monkeypatch):
    # torch.unique reads its output size back to the host: one GPU synchronisation per batch
    model = _model(reg_weight=0.5)
    model.start_epoch(1)
    monkeypatch.setattr(torch, "unique", lambda *a, **k: pytest.fail("torch.unique in the batch loss"))
    for size in (3, N_ITEMS):  # 2 * size rows: fewer than the catalogue, more than it
        users = torch.arange(size) % N_USERS
        pos, neg = torch.arange(size) % N_ITEMS, (torch.arange(size) + 1) % N_ITEMS
        t = model.loss(users, pos, neg)
        u = model.forward(model.train_adjacency)[0][users]
        modal = sum(bpr_loss((u * model.projections[m](x[pos])).sum(1), (u * model.projections[m](x[neg])).sum(1))
                    for m, x in model.features.items())
        assert torch.isclose(t["modal_bpr"], modal, atol=1e-6)
