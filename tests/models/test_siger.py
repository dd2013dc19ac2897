import numpy as np
import pytest
import scipy.sparse as sp
import torch

from siger_kedro.models.siger import Siger, SigerConfig, modulus_weights, perturb
from siger_kedro.models.sparse import SparseOperator

N_USERS, N_ITEMS = 6, 5


def _model(config=SigerConfig(embedding_dim=4), modalities=("text", "image")):
    rng = np.random.default_rng(0)
    r = sp.csr_matrix((rng.random((N_USERS, N_ITEMS)) < 0.5).astype(np.float32))
    adj = sp.bmat([[None, r], [r.T, None]]).tocsr()
    item_graph = sp.csr_matrix(rng.random((N_ITEMS, N_ITEMS)).astype(np.float32))
    torch.manual_seed(0)
    return Siger(
        N_USERS, N_ITEMS,
        ui_adjacency=SparseOperator(adj),
        user_item=SparseOperator(r),
        item_graphs={m: SparseOperator(item_graph) for m in modalities},
        features={m: torch.rand(N_ITEMS, 3 + i) for i, m in enumerate(modalities)},
        config=config,
    )


def test_modulus_weights_hand_computed():
    e = torch.tensor([[3.0, 4.0], [0.0, 1.0], [0.0, 0.0]])  # norms 5, 1, 0
    assert torch.allclose(modulus_weights(e).squeeze(1), torch.tensor([1.0, 0.2, 0.0]))


@pytest.mark.parametrize("modulus", [True, False])
def test_perturbation_moves_each_row_by_epsilon_times_its_weight(modulus):
    torch.manual_seed(1)
    e = torch.randn(8, 4) * torch.arange(1, 9).unsqueeze(1)  # rows of different norms
    moved = (perturb(e, 0.05, modulus) - e).norm(dim=1)
    expected = 0.05 * (modulus_weights(e).squeeze(1) if modulus else torch.ones(8))
    assert torch.allclose(moved, expected, atol=1e-6)


def test_semantic_input_gates_id_embedding_with_sigmoid_of_two_affine_maps():
    model = _model()
    lin1, lin2 = model.gates["text"]
    x = model.features["text"]
    expected = model.item_embedding * torch.sigmoid(lin2(lin1(x)))
    assert torch.allclose(model.semantic_input("text"), expected)


def test_forward_shapes_and_final_representation_is_sum_of_views():
    r = _model().forward()
    assert r.user.shape == (N_USERS, 4) and r.item.shape == (N_ITEMS, 4)
    assert torch.allclose(r.item, r.item_id + (r.item_sem["text"] + r.item_sem["image"]) / 2)


def test_loss_terms_follow_the_switches():
    users, pos, neg = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]), torch.tensor([3, 4, 3])
    full = _model().loss(users, pos, neg)
    assert {"bpr", "reg", "mp", "mm", "bm", "loss"} <= set(full)
    no_mp_da = _model(SigerConfig(embedding_dim=4, use_mp=False, use_da=False)).loss(users, pos, neg)
    assert set(no_mp_da) == {"bpr", "reg", "loss"}
    single = _model(modalities=("text",)).loss(users, pos, neg)
    assert single["mm"].item() == 0.0  # one modality: no semantic alignment


def test_total_loss_weights_the_terms():
    c = SigerConfig(embedding_dim=4, lambda_p=0.5, lambda_a=0.25, lambda_r=0.1, use_mp=False)
    t = _model(c).loss(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([2, 3]))
    expected = t["bpr"] + 0.1 * t["reg"] + 0.25 * (t["mm"] + t["bm"])
    assert torch.allclose(t["loss"], expected)


def test_plain_infonce_variant_changes_alignment_loss():
    users, pos, neg = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]), torch.tensor([3, 4, 3])
    anchor = _model(SigerConfig(embedding_dim=4, use_mp=False)).loss(users, pos, neg)["mm"]
    plain = _model(SigerConfig(embedding_dim=4, use_mp=False, anchor_infonce=False)).loss(users, pos, neg)["mm"]
    assert not torch.isclose(anchor, plain)


def test_mismatched_modalities_are_rejected():
    model = _model()
    with pytest.raises(ValueError, match="same modalities"):
        Siger(N_USERS, N_ITEMS, model.ui_adjacency, model.user_item, {"text": model.item_graphs["text"]},
              {"image": model.features["image"]})
