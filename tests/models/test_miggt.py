import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from tiny import N_ITEMS, N_USERS, tiny_inputs

from siger_kedro.models.miggt import (
    MIGGTConfig,
    _EdgeDropoutAdjacency,
    build,
    mgdcf,
    mgdcf_gamma,
    sampled_attention,
    self_loop_adjacency,
)

R = sp.csr_matrix(np.array([[1, 0], [1, 1]], dtype=np.float32))  # 2 users x 2 items
# nodes u0 u1 i0 i1; with self loops the degrees are 2, 3, 3, 2
R6, R2 = 1 / math.sqrt(6), 0.5
A_HAND = np.array(
    [
        [R2, 0, R6, 0],
        [0, 1 / 3, 1 / 3, R6],
        [R6, 1 / 3, 1 / 3, 0],
        [0, R6, 0, R2],
    ]
)
QUIET = dict(input_dropout=0.0, feat_dropout=0.0, user_dropout=0.0, item_dropout=0.0, edge_dropout=0.0, z_dropout=0.0)


def test_self_loop_adjacency_hand_computed():
    assert np.allclose(self_loop_adjacency(R).toarray(), A_HAND)


def test_gamma_hand_computed():
    assert mgdcf_gamma(0.1, 0.9, 3) == pytest.approx(1.0)  # alpha + beta = 1 keeps the scale
    assert mgdcf_gamma(0.2, 0.5, 2) == pytest.approx(0.25 + 0.2 * 1.5)


def test_mgdcf_hop_counts_hand_computed():
    a = torch.tensor(A_HAND, dtype=torch.float32)
    h0 = torch.tensor([[0.0], [0.0], [1.0], [2.0]])  # content on the items only
    # K = 0: the items' own input, users get nothing
    assert torch.equal(mgdcf(a, h0, 0, 0.1, 0.9), h0)
    # K = 1, alpha 0.1, beta 0.9 (gamma 1): 0.9 A h0 + 0.1 h0
    a_h0 = np.array([R6, 1 / 3 + 2 * R6, 1 / 3, 2 * R2])
    one = 0.9 * a_h0 + 0.1 * h0.squeeze(1).numpy()
    assert np.allclose(mgdcf(a, h0, 1, 0.1, 0.9).squeeze(1).numpy(), one, atol=1e-6)
    # K = 2, alpha 0.2, beta 0.5: (0.5 A (0.5 A h0 + 0.2 h0) + 0.2 h0) / 0.55
    h1 = 0.5 * a_h0 + 0.2 * h0.squeeze(1).numpy()
    two = (0.5 * A_HAND @ h1 + 0.2 * h0.squeeze(1).numpy()) / 0.55
    assert np.allclose(mgdcf(a, h0, 2, 0.2, 0.5).squeeze(1).numpy(), two, atol=1e-6)


def test_each_modality_has_its_own_receptive_field():
    inputs = tiny_inputs()
    torch.manual_seed(0)
    # image: 0 hops (items only), text: off, ID: off
    config = MIGGTConfig(embedding_dim=4, id_hops=-1, hops={"image": 0, "text": -1}, **QUIET)
    model = build(inputs, config, torch.device("cpu")).eval()
    assert list(model.encoders) == ["image"]
    h = model.local()
    assert torch.equal(h[:N_USERS], torch.zeros(N_USERS, 4))
    assert torch.allclose(h[N_USERS:], model.encoders["image"](model.features["image"]))
    # one hop: users now see the image content, through their items (user rows of A only)
    one = build(inputs, MIGGTConfig(embedding_dim=4, id_hops=-1, hops={"image": 1, "text": -1}, **QUIET), torch.device("cpu"))
    one.load_state_dict(model.state_dict())
    one.eval()
    encoded = model.encoders["image"](model.features["image"])
    adj = torch.tensor(self_loop_adjacency(inputs.train).toarray())
    expected_users = 0.9 * adj[:N_USERS, N_USERS:] @ encoded
    assert torch.allclose(one.local()[:N_USERS], expected_users, atol=1e-5)
    # a modality missing from `hops` takes default_hops; the ID GNN uses id_hops
    other = build(inputs, MIGGTConfig(embedding_dim=4, hops={"image": 3}, default_hops=5), torch.device("cpu"))
    assert other.hops == {"image": 3, "text": 5}


def test_one_attention_step_hand_computed():
    query, key = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        query.weight.copy_(torch.tensor([[1.0, 0.0]]))
        key.weight.copy_(torch.tensor([[0.0, 1.0]]))
        query.bias.zero_()
        key.bias.zero_()
    tokens = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [0.0, -2.0]]])  # the node, then 2 samples
    # q = 1, keys = [0, 2, -2], scale 1/sqrt(1): weights softmax([0, 2, -2])
    z = 1 + math.exp(2) + math.exp(-2)
    attention = np.array([1.0, 0.0]) / z + np.array([0.0, 2.0]) * math.exp(2) / z + np.array([0.0, -2.0]) * math.exp(-2) / z
    expected = 0.9 * np.array([1.0, 0.0]) + 0.1 * attention
    out = sampled_attention(tokens, query, key, 0.1)
    assert out.shape == (1, 2) and np.allclose(out[0].detach().numpy(), expected, atol=1e-6)
    # every token at once: token 1's query is 0, so it averages the sequence uniformly
    full = sampled_attention(tokens, query, key, 0.1, first_only=False)
    assert np.allclose(full[0, 0].detach().numpy(), expected, atol=1e-6)
    assert np.allclose(full[0, 1].detach().numpy(), 0.9 * np.array([0.0, 2.0]) + 0.1 * np.array([1 / 3, 0.0]), atol=1e-6)


def test_edge_dropout_adjacency_transpose_matches():
    m = sp.csr_matrix(np.array([[0, 1, 2], [3, 0, 0], [0, 4, 5]], dtype=np.float32))
    op = _EdgeDropoutAdjacency(m, "cpu")
    kept = op.dropped(0.0)
    assert np.allclose(kept.matrix.to_dense().numpy(), m.toarray())
    assert np.allclose(kept.matrix_t.to_dense().numpy(), m.toarray().T)
    torch.manual_seed(1)
    dropped = op.dropped(0.5)
    a = dropped.matrix.to_dense()
    assert torch.equal(dropped.matrix_t.to_dense(), a.T)
    assert set(a[a != 0].tolist()) <= {2.0, 4.0, 6.0, 8.0, 10.0}  # kept edges scaled by 1/(1-p)
    x = torch.rand(3, 2, requires_grad=True)
    (dropped @ x).sum().backward()
    assert torch.allclose(x.grad, a.T @ torch.ones(3, 2))


def test_global_transformer_is_sampled_and_deterministic_at_evaluation():
    torch.manual_seed(0)
    model = build(tiny_inputs(), MIGGTConfig(embedding_dim=8, num_samples=3), torch.device("cpu"))
    model.eval()
    u1, i1 = model.embeddings()
    u2, i2 = model.embeddings()
    assert torch.equal(u1, u2) and torch.equal(i1, i2)
    _, _, h, samples = model.forward()
    assert samples.shape == (N_USERS + N_ITEMS, 3) and samples.max() < N_ITEMS
    # the final embedding is (1 - w) h + w attention over [h; the sampled items' h]
    tokens = torch.cat([h.unsqueeze(1), h[N_USERS:][samples]], 1)
    manual = sampled_attention(tokens, model.query, model.key, 0.1)
    assert torch.allclose(torch.cat([u1, i1]), manual, atol=1e-6)


def test_loss_terms_and_tur():
    torch.manual_seed(0)
    model = build(tiny_inputs(), MIGGTConfig(embedding_dim=8, num_samples=4, **QUIET), torch.device("cpu"))
    users, pos, neg = torch.tensor([1, 2, 3]), torch.tensor([1, 2, 3]), torch.tensor([0, 0, 4])
    terms = model.loss(users, pos, neg)
    assert set(terms) == {"bpr", "reg", "tur", "loss"} and torch.isfinite(terms["loss"])
    model.eval()  # the authors' L2: half the squares of every final embedding, here per batch triple
    u, i = model.embeddings()
    assert torch.allclose(model.loss(users, pos, neg)["reg"], (u.square().sum() + i.square().sum()) / 2 / 3)
    model.train()
    terms["loss"].backward()
    assert model.user_embedding.grad.abs().sum() > 0 and model.query.weight.grad.abs().sum() > 0
    # evaluation mode fixes the samples, so TUR can be recomputed: a (1 + C)-way cross-entropy
    # whose class 0 is the positive item's own SGT output, i.e. its final embedding
    model.eval()
    with torch.no_grad():
        u, i, h, samples = model.forward()
        tokens = torch.cat([h[N_USERS:][pos].unsqueeze(1), h[N_USERS:][samples[pos + N_USERS]]], 1)
        seq = sampled_attention(tokens, model.query, model.key, 0.1, first_only=False)
        assert torch.allclose(seq[:, 0], i[pos], atol=1e-6)
        logits = torch.einsum("bcd,bd->bc", seq, u[users])
        expected = -(logits[:, 0] - logits.logsumexp(1)).mean()
        assert torch.allclose(model.loss(users, pos, neg)["tur"], expected, atol=1e-6)
    off = build(tiny_inputs(), MIGGTConfig(embedding_dim=8, tur_weight=0.0), torch.device("cpu"))
    assert "tur" not in off.loss(users, pos, neg)


def test_needs_a_modality():
    with pytest.raises(ValueError, match="miggt needs at least one modality feature"):
        build(tiny_inputs(modalities=()), MIGGTConfig(embedding_dim=8), torch.device("cpu"))
    model = build(tiny_inputs(modalities=("genre",)), MIGGTConfig(embedding_dim=8), torch.device("cpu"))
    assert model.hops == {"genre": 2}
