import math

import pytest
import scipy.sparse as sp
import torch
from tiny import tiny_inputs

from siger_kedro.graphs.normalize import ui_adjacency
from siger_kedro.models.base import ModelInputs
from siger_kedro.models.bm3 import BM3, BM3Config, build, cosine_alignment
from siger_kedro.models.sparse import SparseOperator


def test_cosine_alignment_hand_computed_and_stops_target_gradient():
    online = torch.tensor([[1.0, 0.0], [1.0, 1.0]], requires_grad=True)
    target = torch.tensor([[2.0, 0.0], [0.0, 3.0]], requires_grad=True)
    loss = cosine_alignment(online, target)
    # cosines 1 and 1/sqrt(2): 1 - (1 + 0.70711) / 2
    assert loss.item() == pytest.approx(1 - (1 + 1 / math.sqrt(2)) / 2, abs=1e-6)
    loss.backward()
    assert target.grad is None  # stop-gradient on the target view
    assert online.grad is not None and online.grad.abs().sum() > 0


def _identity_model(**config):
    """A 2-user, 2-item BM3 whose pieces are set by hand: identity predictor and projection."""
    r = sp.csr_matrix([[1.0, 0.0], [0.0, 1.0]])
    features = {"text": torch.tensor([[1.0, 0.0], [0.0, 1.0]])}
    model = BM3(2, 2, SparseOperator(ui_adjacency(r)), features, BM3Config(embedding_dim=2, **config))
    with torch.no_grad():
        model.user_embedding.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        model.item_embedding.copy_(torch.tensor([[1.0, 1.0], [1.0, 0.0]]))
        for layer in (model.predictor, model.projections["text"]):
            layer.weight.copy_(torch.eye(2))
            layer.bias.zero_()
    return model


def test_loss_terms_hand_computed_without_dropout():
    # layers=1 on the graph u0-i0, u1-i1 (all degrees 1): user_k = (e_uk + e_ik) / 2 and
    # item_k = (e_ik + e_uk) / 2 + e_ik (the layer-0 item embedding is added back).
    model = _identity_model(layers=1, dropout=0.0, cl_weight=2.0, reg_weight=0.5)
    u, i = model.forward()
    assert torch.allclose(u, torch.tensor([[1.0, 0.5], [0.5, 0.5]]))
    assert torch.allclose(i, torch.tensor([[2.0, 1.5], [1.5, 0.5]]))
    t = model.loss(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([1, 0]))

    def cos(a, b):
        return (a[0] * b[0] + a[1] * b[1]) / math.hypot(*a) / math.hypot(*b)

    rec_pairs = [cos((1, 0.5), (2, 1.5)), cos((0.5, 0.5), (1.5, 0.5))]
    rec = 2 * (1 - sum(rec_pairs) / 2)  # user->item and item->user: the same cosines here
    inter = 1 - (cos((1, 0), (2, 1.5)) + cos((0, 1), (1.5, 0.5))) / 2  # text feature vs item
    intra = 0.0  # no dropout: each projected feature is its own target
    # MMRec's EmbLoss of the whole online tables: (|users| + |items|) / n_items, norms unsquared
    reg = (math.sqrt(1 + 0.25 + 0.25 + 0.25) + math.sqrt(4 + 2.25 + 2.25 + 0.25)) / 2
    assert t["rec"].item() == pytest.approx(rec, abs=1e-6)
    assert t["inter"].item() == pytest.approx(inter, abs=1e-6)
    assert t["intra"].item() == pytest.approx(intra, abs=1e-6)
    assert t["reg"].item() == pytest.approx(reg, abs=1e-6)
    assert t["loss"].item() == pytest.approx(rec + 2.0 * (inter + intra) + 0.5 * reg, abs=1e-5)


def test_loss_does_not_depend_on_negatives():
    model = build(tiny_inputs(), BM3Config(embedding_dim=8), torch.device("cpu"))
    users, pos = torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 2, 3])
    losses = []
    for neg in (torch.tensor([5, 6, 7, 8]), torch.tensor([9, 9, 9, 9]), None):
        torch.manual_seed(3)  # the same dropout masks for every call
        losses.append(model.loss(users, pos, neg)["loss"])
    assert torch.equal(losses[0], losses[1]) and torch.equal(losses[0], losses[2])


def test_dropout_target_changes_the_loss_and_scores_use_the_predictor():
    model = _identity_model(layers=1, dropout=0.5)
    batch = (torch.tensor([0, 1]), torch.tensor([0, 1]), None)
    torch.manual_seed(0)
    seen = {round(model.loss(*batch)["intra"].item(), 6) for _ in range(20)}
    assert len(seen) > 1  # intra-modality target is a random dropout view, not a copy
    with torch.no_grad():
        model.predictor.weight.copy_(2 * torch.eye(2))
    users, items = model.embeddings()
    assert torch.allclose(users, 2 * model.forward()[0])


def test_features_are_finetuned_only_when_asked():
    inputs = tiny_inputs()
    tuned = build(inputs, BM3Config(embedding_dim=8), torch.device("cpu"))
    frozen = build(inputs, BM3Config(embedding_dim=8, finetune_features=False), torch.device("cpu"))
    n_feature_params = sum(x.size for x in inputs.features.values())
    count = lambda m: sum(p.numel() for p in m.parameters() if p.requires_grad)  # noqa: E731
    assert count(tuned) - count(frozen) == n_feature_params
    assert sorted(tuned.projections) == ["image", "text"]


def test_needs_a_modality():
    inputs = tiny_inputs()
    bare = ModelInputs(inputs.n_users, inputs.n_items, inputs.train, inputs.ui_adjacency, inputs.user_item)
    with pytest.raises(ValueError, match="bm3 needs at least one modality feature"):
        build(bare, BM3Config(embedding_dim=8), torch.device("cpu"))
