import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from tiny import tiny_inputs

from siger_kedro.graphs.consistent_knn import consistent_knn_graphs
from siger_kedro.graphs.normalize import ui_adjacency
from siger_kedro.models.base import ModelInputs
from siger_kedro.models.damrs import (
    COOCCURRENCE_VIEW,
    DAMRSConfig,
    build,
    denoised_bpr_loss,
    feedback_weights,
    graded_infonce,
    pseudo_positives,
    session_graph,
    symmetric_bernoulli_kl,
)

S = 1 / math.sqrt(2)
# image unit rows (1,0) (1,0) (0,1) (s,s): sum (2+s, 1+s), mean cosine (6+6s)/16 = 0.640
IMAGE = np.array([[1, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float32)
# text unit rows (1,0) (0,1) (0,1) (1,0): sum (2, 2), mean cosine 8/16 = 0.5
TEXT = np.array([[3, 0], [0, 1], [0, 2], [1, 0]], dtype=np.float32)


def _edges(g):
    return {tuple(map(int, e)) for e in zip(*g.nonzero())}


def test_single_modality_keeps_pairs_above_its_mean_similarity():
    # image cosines: 0-1 = 1, 0-3 = 1-3 = 2-3 = s = 0.707 > 0.640, 0-2 = 1-2 = 0 < 0.640
    g = consistent_knn_graphs({"image": IMAGE}, k=10)["image"]
    expected = {(0, 0), (0, 1), (0, 3), (1, 0), (1, 1), (1, 3), (2, 2), (2, 3), (3, 0), (3, 1), (3, 2), (3, 3)}
    assert _edges(g) == expected
    np.testing.assert_allclose(sorted(set(np.round(g.data, 6))), [round((1 + S) / 2, 6), 1.0])  # H = (1 + cos) / 2


def test_edge_survives_only_when_above_the_mean_in_every_modality():
    # text keeps 0-3 and 1-2 (cos 1 >= 0.5), drops the rest (cos 0); image drops 1-2 (cos 0).
    # Consistent in both: 0-3 and the self loops only.
    graphs = consistent_knn_graphs({"image": IMAGE, "text": TEXT}, k=10)
    expected = {(0, 0), (0, 3), (1, 1), (2, 2), (3, 0), (3, 3)}
    assert _edges(graphs["image"]) == expected and _edges(graphs["text"]) == expected
    chunked = consistent_knn_graphs({"image": IMAGE, "text": TEXT}, k=10, chunk_size=1)
    assert all((chunked[m] != graphs[m]).nnz == 0 for m in graphs)


def test_top_k_ranks_survivors_by_the_modality_similarity_ties_to_lower_id():
    g = consistent_knn_graphs({"image": IMAGE}, k=2, ties="lowest_id")["image"]
    # row 3: itself (cos 1), then 0, 1, 2 tied at s -> item 0
    assert _edges(g) == {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 3), (3, 0)}


def test_feedback_weights_hand_computed():
    p_pos = torch.tensor([[0.8, 0.2], [0.6, 0.3], [0.7, 0.7]])  # 3 views x 2 triples
    p_neg = torch.tensor([[0.5, 0.5], [0.4, 0.6], [0.5, 0.5]])  # batch mean 0.5
    w_pos, w_neg = feedback_weights(p_pos, p_neg)
    # triple 0: mean 0.7, unbiased var (0.01 + 0.01 + 0) / 2 = 0.01 -> 0.7 e^-0.02
    # triple 1: mean 0.4, var (0.04 + 0.01 + 0.09) / 2 = 0.07 -> 0.4 e^-0.14
    assert torch.allclose(w_pos, torch.tensor([0.7 * math.exp(-0.02), 0.4 * math.exp(-0.14)]))
    # triple 0 is above the negatives' mean: no flip; triple 1 (0.4 < 0.5): max 0.7 - 0.5
    assert torch.allclose(w_neg, torch.tensor([0.0, 0.2]))


def test_denoised_bpr_hand_computed_and_plain_bpr_as_special_case():
    pos, neg = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0])
    w_pos, w_neg = torch.tensor([0.5, 0.25]), torch.tensor([0.0, 0.2])
    sp = lambda x: math.log1p(math.exp(x))  # -log sigmoid(-x)
    expected = (0.5 * sp(-1) + 0.25 * sp(1) + 0.2 * sp(-1)) / 2
    assert denoised_bpr_loss(pos, neg, w_pos, w_neg).item() == pytest.approx(expected, rel=1e-6)
    plain = (sp(-1) + sp(1)) / 2
    assert denoised_bpr_loss(pos, neg, torch.ones(2), torch.zeros(2)).item() == pytest.approx(plain, rel=1e-6)


def test_symmetric_bernoulli_kl_hand_computed():
    # p = sigmoid(0) = 0.5, q = sigmoid(ln 1/3) = 0.25:
    # KL(p||q) = 0.5 ln 2 + 0.5 ln(2/3); KL(q||p) = 0.25 ln 0.5 + 0.75 ln 1.5
    expected = 0.5 * math.log(2) + 0.5 * math.log(2 / 3) + 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    kl = symmetric_bernoulli_kl(torch.tensor(0.0), torch.tensor(math.log(1 / 3)))
    assert kl.item() == pytest.approx(expected, rel=1e-6)
    assert symmetric_bernoulli_kl(torch.tensor(0.7), torch.tensor(0.7)).item() == 0.0
    # saturated probabilities stay finite
    assert torch.isfinite(symmetric_bernoulli_kl(torch.tensor(60.0), torch.tensor(-60.0)))


def test_pseudo_positives_count_the_own_view_twice():
    probs = [
        torch.tensor([[0.30, 0.25, 0.20, 0.15, 0.05, 0.05]]),
        torch.tensor([[0.05, 0.10, 0.40, 0.25, 0.10, 0.10]]),
        torch.tensor([[0.05, 0.05, 0.50, 0.10, 0.20, 0.10]]),
    ]
    # 2 p0 + p1 + p2 = [.70 .65 1.30 .65 .40 .35] -> {2, 0}; p0 + p1 + p2 = [.40 .40 1.10 .50 .35 .30]
    # would give {2, 3}
    mm, single = pseudo_positives(probs, own=0, k=2)
    assert set(mm[0].tolist()) == {0, 2}
    # p0 without {0, 2}: item 1 (.25), item 3 (.15)
    assert set(single[0].tolist()) == {1, 3}


def test_graded_infonce_hand_computed():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    e = math.exp
    total = e(2) + e(1) + e(0) + e(-1)
    expected = -math.log(e(2) / total) - math.log(e(1) / (total - e(2)))
    loss = graded_infonce(logits, torch.tensor([[0]]), torch.tensor([[1]]))
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_session_graph_is_top_k_binary_with_a_self_loop_by_row_sums():
    # users 0: {0, 1, 2}, 1: {0, 1}, 2: {0, 3}: item 0 co-occurs with 1 twice, with 2 and 3 once
    r = sp.csr_matrix(np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 1]], dtype=np.float32))
    inputs = ModelInputs(3, 4, r, ui_adjacency(r), r)
    g = session_graph(inputs, k=1).toarray()
    # rows (self + top-1): 0 -> {0, 1}; 1 -> {1, 0}; 2 -> {2, 0 or 1: tie}; 3 -> {3, 0}
    assert np.array_equal(np.diag(g) > 0, [True] * 4) and ((g > 0).sum(1) == 2).all()
    assert g[0, 1] == pytest.approx(0.5) and g[3, 0] == pytest.approx(0.5)  # 1/sqrt(2 * 2): binary, row sums 2
    two = session_graph(inputs, k=2).toarray()
    assert ((two > 0).sum(1) == [3, 3, 3, 2]).all()  # item 3 co-occurs with item 0 only
    assert two[0, 0] == pytest.approx(1 / 3) and two[3, 0] == pytest.approx(1 / np.sqrt(2 * 3))


def test_build_uses_its_own_session_graph_with_cooc_k():
    inputs = tiny_inputs()
    model = build(inputs, DAMRSConfig(embedding_dim=8), torch.device("cpu"))
    assert model.views == sorted(["image", "text", COOCCURRENCE_VIEW])
    built = model.item_graphs[COOCCURRENCE_VIEW].matrix.to_dense().numpy()
    assert np.allclose(built, session_graph(inputs, 2).toarray())  # not SIGER's top-5 weighted graph
    assert (built > 0).sum(1).max() == 3 and (np.diag(built) > 0).all()  # the authors' top-2 + self
    wider = build(inputs, DAMRSConfig(embedding_dim=8, cooc_k=4), torch.device("cpu"))
    assert (wider.item_graphs[COOCCURRENCE_VIEW].matrix.to_dense() > 0).sum(1).max() == 5  # cooc_k honoured
    # each denoised kNN graph keeps at most k neighbours per row, the item itself included
    knn = build(inputs, DAMRSConfig(embedding_dim=8, knn_k=3), torch.device("cpu")).item_graphs["image"].matrix.to_dense()
    assert ((knn > 0).sum(1) <= 3).all() and (torch.diagonal(knn) > 0).all()


def test_needs_a_modality_and_works_with_one():
    with pytest.raises(ValueError, match="damrs needs at least one modality feature"):
        build(tiny_inputs(modalities=()), DAMRSConfig(embedding_dim=8), torch.device("cpu"))
    torch.manual_seed(0)
    model = build(tiny_inputs(modalities=("genre",)), DAMRSConfig(embedding_dim=8), torch.device("cpu"))
    users, pos, neg = torch.tensor([1, 2, 3]), torch.tensor([1, 2, 3]), torch.tensor([0, 0, 4])
    terms = model.loss(users, pos, neg)
    assert set(terms) == {"bpr", "au", "ai", "loss"} and torch.isfinite(terms["loss"])
    terms["loss"].backward()
    assert model.item_embedding.grad.abs().sum() > 0


def test_switches_remove_their_terms():
    torch.manual_seed(0)
    config = DAMRSConfig(embedding_dim=8, denoised_bpr=False, kl_weight=0.0, neighbor_weight=0.0)
    model = build(tiny_inputs(), config, torch.device("cpu"))
    users, pos, neg = torch.tensor([1, 2]), torch.tensor([1, 2]), torch.tensor([0, 4])
    terms = model.loss(users, pos, neg)
    assert set(terms) == {"bpr", "loss"}
    u, i = model.embeddings()
    expected = torch.nn.functional.softplus((u[users] * i[neg]).sum(1) - (u[users] * i[pos]).sum(1)).mean()
    assert torch.allclose(terms["loss"], expected, atol=1e-6)


def test_the_gpu_form_of_the_distinct_rows_gives_the_cpu_loss_and_gradient(monkeypatch):
    # on a GPU the KL and alignment terms mask repeated rows instead of calling torch.unique
    from siger_kedro.models import damrs, losses

    users, pos, neg = torch.tensor([1, 2, 1, 3, 2]), torch.tensor([1, 2, 1, 3, 0]), torch.tensor([0, 4, 4, 0, 5])

    def run():
        torch.manual_seed(0)
        model = build(tiny_inputs(), DAMRSConfig(embedding_dim=8), torch.device("cpu"))
        terms = model.loss(users, pos, neg)
        terms["loss"].backward()
        return terms, model.item_embedding.grad.clone()

    on_cpu, grad_cpu = run()
    monkeypatch.setattr(damrs, "unique_rows", lambda ids: (ids, losses.first_occurrences(ids)))
    masked, grad_masked = run()
    for term in ("au", "ai", "loss"):
        assert torch.allclose(on_cpu[term], masked[term], atol=1e-6), term
    assert torch.allclose(grad_cpu, grad_masked, atol=1e-6)
