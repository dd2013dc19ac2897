import numpy as np
import pytest
import scipy.sparse as sp
import torch

from siger_kedro.models.siger import Siger, SigerConfig, perturb
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
    # norms 5, 1, 2.5, so w = 1, 0.2, 0.5: each row moves by eps * w
    torch.manual_seed(0)
    e = torch.tensor([[3.0, 4.0], [0.0, 1.0], [1.5, 2.0]])
    moved = (perturb(e, 0.05, modulus_weighting=True) - e).norm(dim=1)
    assert torch.allclose(moved, 0.05 * torch.tensor([1.0, 0.2, 0.5]), atol=1e-6)
    # a zero row has w = 0 and stays put, whichever row it is shuffled with
    e = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    assert torch.equal(perturb(e, 0.05, modulus_weighting=True)[1], torch.zeros(2))


@pytest.mark.parametrize("modulus", [True, False])
def test_perturbation_moves_each_row_by_epsilon_times_its_weight(modulus):
    torch.manual_seed(1)
    e = torch.randn(8, 4) * torch.arange(1, 9).unsqueeze(1)  # rows of different norms
    moved = (perturb(e, 0.05, modulus) - e).norm(dim=1)
    expected = 0.05 * (e.norm(dim=1) / e.norm(dim=1).max() if modulus else torch.ones(8))
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


def test_weighted_perturbation_matches_autograd_of_eq_12_with_the_same_draws():
    import torch.nn.functional as F

    from siger_kedro.models.siger import _WeightedPerturbation
    torch.manual_seed(3)
    e = torch.randn(12, 5, dtype=torch.float64, requires_grad=True)
    step = 0.1 * torch.sign(e.detach()) * F.normalize(torch.rand_like(e), dim=1)
    perm = torch.randperm(12)
    w = e.norm(dim=1, keepdim=True) / e.norm(dim=1).max()
    reference = e + 0.1 * w * F.normalize(e + w * step, dim=1)[perm]
    out = _WeightedPerturbation.apply(e, step, perm, 0.1)
    assert torch.allclose(out, reference, atol=1e-14)
    g = torch.randn_like(out)
    (expected,) = torch.autograd.grad(reference, e, g)
    (got,) = torch.autograd.grad(out, e, g)
    assert torch.allclose(got, expected, atol=1e-12)


def test_contrastive_terms_count_each_batch_user_and_item_once():
    # a batch with repeated users and items: the terms equal those of its unique rows
    from siger_kedro.models.losses import info_nce

    model = _model(SigerConfig(embedding_dim=4, use_mp=False))
    users, pos, neg = torch.tensor([0, 2, 0, 5]), torch.tensor([1, 1, 3, 4]), torch.tensor([2, 0, 0, 0])
    terms = model.loss(users, pos, neg)
    r = model.forward()
    bu, bi = torch.unique(users), torch.unique(pos)
    bm = info_nce(r.user_fused[bu], r.user_id[bu], 0.2) + info_nce(r.item_fused[bi], r.item_id[bi], 0.2)
    assert torch.allclose(terms["bm"], bm, atol=1e-6)


def test_aux_warmup_ramps_the_contrastive_weights_from_zero():
    c = SigerConfig(embedding_dim=4, lambda_p=0.5, lambda_a=0.25, aux_warmup_epochs=4)
    model = _model(c)
    batch = torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([2, 3])
    for epoch, share in ((1, 0.0), (3, 0.5), (5, 1.0), (9, 1.0)):
        model.start_epoch(epoch)
        torch.manual_seed(1)
        t = model.loss(*batch)
        expected = t["bpr"] + c.lambda_r * t["reg"] + share * (0.5 * t["mp"] + 0.25 * (t["mm"] + t["bm"]))
        assert torch.allclose(t["loss"], expected), epoch
        assert model.term_weights()["mp"] == pytest.approx(share * 0.5)
    off = _model(SigerConfig(embedding_dim=4))
    off.start_epoch(1)
    assert off.aux_scale == 1.0  # the paper: full weights from the first epoch


def test_the_gpu_form_of_the_unique_rows_gives_the_cpu_loss(monkeypatch):
    # on a GPU the contrastive terms mask repeated rows instead of calling torch.unique
    from siger_kedro.models import losses, siger

    users, pos, neg = torch.tensor([0, 2, 0, 5]), torch.tensor([1, 1, 3, 4]), torch.tensor([2, 0, 0, 0])
    config = SigerConfig(embedding_dim=4, use_mp=False)
    on_cpu = _model(config).loss(users, pos, neg)
    monkeypatch.setattr(siger, "unique_rows", lambda ids: (ids, losses.first_occurrences(ids)))
    masked = _model(config).loss(users, pos, neg)
    for term in ("mm", "bm", "loss"):
        assert torch.allclose(on_cpu[term], masked[term], atol=1e-6), term


def test_constant_modulus_weights_move_the_rows_alike_but_carry_no_gradient_through_w():
    import torch.nn.functional as F

    torch.manual_seed(4)
    e = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(5)
    moving = perturb(e, 0.1, modulus_weighting=True)
    torch.manual_seed(5)
    constant = perturb(e, 0.1, modulus_weighting=True, weight_gradient=False)
    assert torch.allclose(moving, constant, atol=1e-12)  # the same draws, the same output
    # the constant form's gradient is autograd's with w detached
    torch.manual_seed(5)
    step = F.normalize(torch.rand_like(e), dim=1) * torch.sign(e.detach()) * 0.1
    perm = torch.randperm(6)
    w = (e.norm(dim=1, keepdim=True) / e.norm(dim=1).max()).detach()
    reference = e + 0.1 * w * F.normalize(e + w * step, dim=1)[perm]
    g = torch.randn(6, 3, dtype=torch.float64)
    (expected,) = torch.autograd.grad(reference, e, g)
    (got,) = torch.autograd.grad(constant, e, g)
    (with_w,) = torch.autograd.grad(moving, e, g)
    assert torch.allclose(got, expected, atol=1e-12) and not torch.allclose(got, with_w, atol=1e-6)


def test_l2_on_the_final_representations_reads_eq_17_rows():
    users, pos, neg = torch.tensor([0, 2, 0]), torch.tensor([1, 1, 3]), torch.tensor([2, 0, 4])
    model = _model(SigerConfig(embedding_dim=4, reg_target="final", use_mp=False))
    r = model.forward()
    expected = (r.user[users].square().sum() + r.item[torch.cat([pos, neg])].square().sum()) / 3
    assert torch.allclose(model.loss(users, pos, neg)["reg"], expected, atol=1e-6)
    layer0 = _model(SigerConfig(embedding_dim=4, use_mp=False)).loss(users, pos, neg)["reg"]
    assert not torch.isclose(layer0, expected)


def test_contrastive_terms_over_every_user_and_item():
    from siger_kedro.models.losses import info_nce

    model = _model(SigerConfig(embedding_dim=4, use_mp=False, contrastive_nodes="all"))
    terms = model.loss(torch.tensor([0, 0]), torch.tensor([1, 1]), torch.tensor([2, 3]))
    r = model.forward()
    assert torch.allclose(terms["bm"], info_nce(r.user_fused, r.user_id, 0.2) + info_nce(r.item_fused, r.item_id, 0.2),
                          atol=1e-6)


def test_reversed_view_order_lets_the_other_modality_play_v():
    from siger_kedro.models.losses import anchor_info_nce

    batch = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]), torch.tensor([3, 4, 3])
    by_name = _model(SigerConfig(embedding_dim=4, use_mp=False)).loss(*batch)["mm"]
    model = _model(SigerConfig(embedding_dim=4, use_mp=False, da_view_order="reversed"))
    reversed_ = model.loss(*batch)["mm"]
    r, rows = model.forward(), torch.tensor([0, 1, 2])
    expected = (anchor_info_nce(r.user_sem["text"][rows], r.user_sem["image"][rows], r.user_id[rows], 0.2)
                + anchor_info_nce(r.item_sem["text"][rows], r.item_sem["image"][rows], r.item_id[rows], 0.2))
    assert torch.allclose(reversed_, expected, atol=1e-6) and not torch.isclose(reversed_, by_name)


@pytest.mark.parametrize("field, value", [("reg_target", "last"), ("contrastive_nodes", "some"),
                                          ("da_view_order", "random")])
def test_unknown_readings_are_refused(field, value):
    with pytest.raises(ValueError, match=f"siger {field} must be"):
        SigerConfig(**{field: value})
