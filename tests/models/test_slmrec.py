import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from tiny import tiny_inputs

from siger_kedro.graphs.normalize import ui_adjacency
from siger_kedro.models.base import ModelInputs
from siger_kedro.models.losses import info_nce
from siger_kedro.models.propagation import lightgcn
from siger_kedro.models.slmrec import (
    SLMRecConfig,
    build,
    fac_dims,
    propagate_with_dropout,
    source_masks,
)
from siger_kedro.models.sparse import SparseOperator

CPU = torch.device("cpu")


def _model(**config):
    torch.manual_seed(0)
    return build(tiny_inputs(), SLMRecConfig(embedding_dim=4, **config), CPU)


def test_source_masks_zero_two_distinct_sources_deterministically():
    torch.manual_seed(7)
    first = source_masks(3)
    torch.manual_seed(7)
    assert torch.equal(first, source_masks(3))  # same seed, same views
    assert first.shape == (2, 3)
    assert torch.equal((first == 0).sum(1), torch.tensor([1, 1]))  # one source per view
    assert not torch.equal(first[0], first[1])  # and never the same source
    torch.manual_seed(0)
    drawn = {tuple(source_masks(3).argmin(1).tolist()) for _ in range(200)}
    assert drawn == {(a, b) for a in range(3) for b in range(3) if a != b}  # all ordered pairs


def test_feature_masking_zeroes_whole_item_block_of_the_chosen_source(monkeypatch):
    model = _model(ssl_task="FM")
    seen = []
    real = model.two_view_loss

    def spy(x1, x2, users, items, dropout):
        seen.append((x1, x2, dropout))
        return real(x1, x2, users, items, dropout)

    monkeypatch.setattr(model, "two_view_loss", spy)
    torch.manual_seed(5)
    masks = source_masks(model.n_views)
    torch.manual_seed(5)
    model.loss(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([2, 3]))
    x1, x2, dropout = seen[0]
    x = model.view_inputs()
    n_users, d = model.n_users, 4
    assert dropout == 0.0
    for view, mask in zip((x1, x2), masks):
        assert torch.equal(view[:n_users], x[:n_users])  # users untouched
        for k in range(model.n_views):
            block, original = view[n_users:, k * d:(k + 1) * d], x[n_users:, k * d:(k + 1) * d]
            if mask[k] == 0:
                assert torch.count_nonzero(block) == 0  # every item row of that source
            else:
                assert torch.equal(block, original)


def test_dropout_propagation_drops_the_right_fraction_and_p0_is_lightgcn():
    r = sp.csr_matrix(torch.rand(30, 20).lt(0.3).float().numpy())
    adj = SparseOperator(ui_adjacency(r))
    x = torch.rand(50, 8) + 0.1
    assert torch.allclose(propagate_with_dropout(adj, x, 2, 0.0), lightgcn(adj, x, 2))
    # one layer: output = (x + dropout(A x)) / 2, so the dropped entries are where 2*out == x
    torch.manual_seed(1)
    out = propagate_with_dropout(adj, x, 1, 0.3)
    ax = adj @ x
    kept = ax != 0
    dropped = torch.isclose(2 * out, x) & kept
    assert abs(dropped.sum().item() / kept.sum().item() - 0.3) < 0.05
    # kept entries are rescaled by 1 / (1 - p)
    assert torch.allclose((2 * out - x)[kept & ~dropped], ax[kept & ~dropped] / 0.7, atol=1e-5)


def test_stacked_views_equal_separate_lightgcn_per_view():
    model = _model()
    x = model.view_inputs()
    _, items = model.propagate(x)
    for k in range(model.n_views):
        single = lightgcn(model.ui_adjacency, x[:, k * 4:(k + 1) * 4], model.config.layers)
        assert torch.allclose(model.views(items, k), single[model.n_users:], atol=1e-6)
    # the image view's layer-0 items are Linear(x / ||x||) of the raw features
    raw = torch.as_tensor(tiny_inputs().features["image"])
    expected = model.dense["image"](raw / raw.norm(dim=1, keepdim=True))
    assert torch.allclose(x[model.n_users:, 4:8], expected, atol=1e-6)


def _known_fac_maps(model):
    """Every FAC map set to a known one: identity into S_1 (and the audio step), then the
    first two coordinates into the coarse space."""
    with torch.no_grad():
        for layer in [*model.fac_id, *model.fac_modality, *([model.fac_audio] if model.fac_audio else [])]:
            layer.bias.zero_()
        for layer in [model.fac_id[0], model.fac_modality[0], *([model.fac_audio] if model.fac_audio else [])]:
            layer.weight.copy_(torch.eye(4))
        model.fac_id[1].weight.copy_(torch.eye(4)[:2])
        model.fac_modality[1].weight.copy_(torch.eye(4)[:2])


def test_fac_dimensions_and_hand_built_loss():
    assert fac_dims(64, 1) == [64]
    assert fac_dims(64, 2) == [64, 32]  # fine space, then the coarse one at d/2
    assert fac_dims(64, 3) == [64, 64, 32]
    model = _model()
    assert [layer.out_features for layer in model.fac_id] == [4, 2]
    assert model.fac_audio.in_features == model.fac_audio.out_features == 4  # the reference's audio step
    _known_fac_maps(model)
    items = torch.randn(10, 12)
    idx = torch.tensor([1, 4, 7, 4])  # a repeated item stays a row of its own, as in the reference
    id_, image, text = items[idx, :4], items[idx, 4:8], items[idx, 8:]
    # the reference's FAC logits: plain dot products / ssl_temp
    expected = info_nce(id_, image, 0.2, cosine=False) + info_nce(id_[:, :2], text[:, :2], 0.2, cosine=False)
    assert torch.allclose(model.fac_loss(items, idx), expected)
    cosine = _model(fac_similarity="cosine", fac_audio_space=False)
    assert cosine.fac_audio is None
    _known_fac_maps(cosine)
    expected = info_nce(id_, image, 0.2) + info_nce(id_[:, :2], text[:, :2], 0.2)
    assert torch.allclose(cosine.fac_loss(items, idx), expected)
    # hand values on two orthogonal pairs: cosine -log(e^5/(e^5+e^0)); dot with norm 2: logits 20 and 0
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert info_nce(a, a, 0.2).item() == pytest.approx(F.softplus(torch.tensor(-5.0)).item(), abs=1e-6)
    assert info_nce(2 * a, 2 * a, 0.2, cosine=False).item() == pytest.approx(
        F.softplus(torch.tensor(-20.0)).item(), abs=1e-6)


def test_ssl_terms_use_every_batch_row():
    model = _model()
    users, pos = torch.tensor([0, 1, 1]), torch.tensor([2, 2, 5])
    t = model.loss(users, pos, torch.tensor([3, 4, 6]))
    _, items = model.propagate(model.view_inputs())
    assert torch.allclose(t["ssl"], model.fac_loss(items, pos))


def test_concat_fusion_and_main_losses():
    model = _model()
    assert model.user_fusion.in_features == 4 * 3  # ID + image + text
    users, pos, neg = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5])
    torch.manual_seed(0)
    t = model.loss(users, pos, neg)
    u, i, _ = model.forward()
    assert torch.allclose(t["main"], info_nce(u[users], i[pos], 0.2))
    assert torch.allclose(t["loss"], t["main"] + 0.1 * t["ssl"])  # reg_weight 0: the reference has no L2 term
    reg = _model(reg_weight=1e-2).loss(users, pos, neg)
    assert torch.allclose(reg["loss"], reg["main"] + 0.1 * reg["ssl"] + 1e-2 * reg["reg"]) and reg["reg"] > 0
    other = model.loss(users, pos, torch.tensor([9, 9, 9]))  # InfoNCE main task: no negatives
    assert torch.equal(t["loss"], other["loss"])
    bpr = _model(main_loss="bpr")
    assert not torch.equal(bpr.loss(users, pos, neg)["main"], bpr.loss(users, pos, torch.tensor([9, 9, 9]))["main"])
    mean = _model(fusion="mean")
    assert mean.user_fusion.in_features == 4


@pytest.mark.parametrize("task", ["FD", "FM", "FD+FM", "none"])
def test_every_ssl_task_gives_a_finite_differentiable_loss(task):
    model = _model(ssl_task=task)
    t = model.loss(torch.tensor([0, 1, 2, 2]), torch.tensor([0, 1, 2, 3]), torch.tensor([4, 5, 6, 7]))
    assert torch.isfinite(t["loss"])
    t["loss"].backward()
    assert model.user_embedding.grad is not None
    if task == "none":
        assert t["ssl"].item() == 0.0
    else:
        assert t["ssl"].item() > 0.0


def test_single_modality_and_errors():
    inputs = tiny_inputs(modalities=("text",))
    model = build(inputs, SLMRecConfig(embedding_dim=4), CPU)
    assert [layer.out_features for layer in model.fac_id] == [4]  # one fine space
    bare = ModelInputs(inputs.n_users, inputs.n_items, inputs.train, inputs.ui_adjacency, inputs.user_item)
    with pytest.raises(ValueError, match="slmrec needs at least one modality feature"):
        build(bare, SLMRecConfig(embedding_dim=4), CPU)
    with pytest.raises(ValueError, match="ssl_task"):
        SLMRecConfig(ssl_task="XX")
