import math

import numpy as np
import pytest
import torch
from tiny import N_ITEMS, N_USERS, tiny_inputs
from torch import nn

from siger_kedro.graphs.knn import knn_graph, normalized_cosine_graph
from siger_kedro.models.losses import info_nce
from siger_kedro.models.mgcn import MGCNConfig, behaviour_aware_fusion, build, purify


def _model(**hyper):
    torch.manual_seed(0)
    inputs = tiny_inputs(modalities=hyper.pop("modalities", ("image", "text")))
    return build(inputs, MGCNConfig(embedding_dim=4, **hyper), torch.device("cpu"))


def test_item_graph_is_cosine_weighted_topk_with_row_degree_normalisation():
    # cos(0,1) = cos(1,2) = 1/√2, cos(0,2) = 0 (dropped), item 3 is opposite to all others.
    x = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, -1.0]], dtype=np.float32)
    g = normalized_cosine_graph(knn_graph(x, k=3)).toarray()
    a = 1 / math.sqrt(2)  # S = [[1,a,0,0],[a,1,a,0],[0,a,1,0],[0,0,0,1]], D = rows sums
    expected = np.array([
        [1 / (1 + a), a / math.sqrt((1 + a) * (1 + 2 * a)), 0, 0],
        [a / math.sqrt((1 + a) * (1 + 2 * a)), 1 / (1 + 2 * a), a / math.sqrt((1 + a) * (1 + 2 * a)), 0],
        [0, a / math.sqrt((1 + a) * (1 + 2 * a)), 1 / (1 + a), 0],
        [0, 0, 0, 1.0],  # negative-cosine neighbours are not edges
    ])
    np.testing.assert_allclose(g, expected, atol=1e-6)
    assert expected[0, 1] == pytest.approx(0.348311, abs=1e-6)


def test_purifier_gates_id_embedding_hand_computed():
    item_id = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
    projected = torch.tensor([[0.0, 0.0], [1.0, -1.0]])
    gate = nn.Linear(2, 2)
    with torch.no_grad():
        gate.weight.copy_(torch.eye(2))
        gate.bias.copy_(torch.tensor([0.0, 1.0]))
    # sigmoid([[0, 1], [1, 0]]) = [[.5, .7311], [.7311, .5]]
    expected = torch.tensor([[0.5, 1.4621172], [2.1931757, -0.5]])
    assert torch.allclose(purify(item_id, projected, gate), expected, atol=1e-6)


def test_behaviour_aware_fusion_hand_computed():
    v1, v2 = torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 4.0]])
    content = torch.tensor([[math.log(3.0), 0.0]])
    query = nn.Linear(2, 1, bias=False)  # scores 2 and 0 -> weights e²/(e²+1), 1/(e²+1)
    p1, p2 = nn.Linear(2, 2, bias=False), nn.Linear(2, 2)
    with torch.no_grad():
        query.weight.copy_(torch.tensor([[1.0, 0.0]]))
        p1.weight.copy_(torch.eye(2))  # sigmoid(content) = [.75, .5]
        p2.weight.zero_()
        p2.bias.fill_(math.log(3.0))  # sigmoid = .75 whatever the content
    # common = [1.761594, 0.476812]; side = (g1*(v1-c) + g2*(v2-c) + c) / 3
    side = behaviour_aware_fusion([v1, v2], content, query, [p1, p2])
    assert torch.allclose(side, torch.tensor([[0.2064010, 0.9602657]]), atol=1e-6)


def test_modality_view_purifies_propagates_and_reads_users_through_r():
    model = _model(ii_layers=1)
    m = "text"
    items = model.item_embedding * torch.sigmoid(model.purifiers[m](model.projections[m](model.features[m])))
    items = model.item_graphs[m] @ items
    view = model.modality_view(m)
    assert torch.allclose(view[N_USERS:], items, atol=1e-6)
    assert torch.allclose(view[:N_USERS], model.user_item @ items, atol=1e-6)


def test_final_representation_is_content_plus_side():
    model = _model()
    content, side = model.forward()
    users, items = model.embeddings()
    assert torch.allclose(torch.cat([users, items]), content + side)
    assert not torch.allclose(side, torch.zeros_like(side))


def test_loss_weights_its_terms_and_contrasts_side_with_content():
    model = _model(cl_loss=0.5, reg_weight=0.1, tau=0.3)
    users, pos, neg = torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 1, 2]), torch.tensor([5, 6, 7, 8])
    t = model.loss(users, pos, neg)
    assert torch.allclose(t["loss"], t["bpr"] + 0.1 * t["reg"] + 0.5 * t["cl"])
    content, side = model.forward()
    u, i = (content + side)[:N_USERS], (content + side)[N_USERS:]
    half = (u[users].square().sum() + i[pos].square().sum() + i[neg].square().sum()) / 2 / 4  # ½ Σ‖·‖² / batch
    assert torch.allclose(t["reg"], half)
    bu = bi = users  # every row, the repeated user 1 and item 1 included (MMRec)
    cl = info_nce(side[N_USERS:][bi], content[N_USERS:][bi], 0.3) + info_nce(side[bu], content[bu], 0.3)
    assert torch.allclose(t["cl"], cl)


@pytest.mark.parametrize("finetune", [True, False])
def test_features_are_finetuned_only_when_asked(finetune):
    model = _model(finetune_features=finetune)
    model.loss(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([2, 3]))["loss"].backward()
    grad = model.features["image"].grad
    assert (grad is not None and grad.abs().sum() > 0) == finetune


def test_any_number_of_modalities_and_none_is_an_error():
    model = _model(modalities=("genre", "image", "text"))
    assert model.modalities == ["genre", "image", "text"]
    t = model.loss(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([2, 3]))
    assert torch.isfinite(t["loss"])
    assert model.embeddings()[1].shape == (N_ITEMS, 4)
    with pytest.raises(ValueError, match="mgcn needs at least one modality feature, the dataset has none"):
        _model(modalities=())
