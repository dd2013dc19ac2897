import math

import pytest
import torch
import torch.nn.functional as F
from tiny import N_ITEMS, N_USERS, tiny_inputs

from siger_kedro.models.lgmrec import (
    LGMRecConfig,
    build,
    hypergraph_propagation,
    info_nce_all_negatives,
)
from siger_kedro.models.losses import emb_loss, info_nce
from siger_kedro.models.propagation import lightgcn

H_ITEMS = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])  # 3 items x 2 hyperedges
H_USERS = torch.tensor([[1.0, 0.0], [0.25, 0.75]])  # 2 users x 2 hyperedges
E_ITEMS = torch.tensor([[1.0, 0.0], [0.0, 2.0], [2.0, 2.0]])


def _model(**hyper):
    torch.manual_seed(0)
    inputs = tiny_inputs(modalities=hyper.pop("modalities", ("image", "text")))
    return build(inputs, LGMRecConfig(embedding_dim=4, **hyper), torch.device("cpu"))


def test_hypergraph_propagation_one_layer_hand_computed():
    # Λ = H_i^T E = [[1, 1], [2, 3]]; E_i = H_i Λ; E_u = H_u Λ
    users, items = hypergraph_propagation(H_ITEMS, H_USERS, E_ITEMS, layers=1)
    assert torch.allclose(items, torch.tensor([[1.0, 1.0], [1.5, 2.0], [2.0, 3.0]]))
    assert torch.allclose(users, torch.tensor([[1.0, 1.0], [1.75, 2.5]]))


def test_hypergraph_propagation_two_layers_hand_computed():
    # second layer: Λ = [[1.75, 2], [2.75, 4]]
    users, items = hypergraph_propagation(H_ITEMS, H_USERS, E_ITEMS, layers=2)
    assert torch.allclose(items, torch.tensor([[1.75, 2.0], [2.25, 3.0], [2.75, 4.0]]))
    assert torch.allclose(users, torch.tensor([[1.75, 2.0], [2.5, 3.5]]))
    with pytest.raises(ValueError, match="hyper_layers"):
        hypergraph_propagation(H_ITEMS, H_USERS, E_ITEMS, layers=0)


def test_hypergraph_infonce_uses_every_row_as_negative_and_sums():
    a, b_all = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss = info_nce_all_negatives(a, b_all, torch.tensor([0]), tau=1.0)
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-6)
    torch.manual_seed(0)
    x, y = torch.randn(5, 3), torch.randn(5, 3)  # all rows in the batch: n x the mean InfoNCE
    assert torch.allclose(info_nce_all_negatives(x, y, torch.arange(5), 0.2), 5 * info_nce(x, y, 0.2))


def test_dependencies_are_gumbel_samples_in_training_and_seeded_gumbel_samples_in_eval():
    model = _model(keep_rate=1.0)
    logits = torch.randn(N_ITEMS, 4)
    model.train()
    h1, h2 = model._dependencies(logits, None), model._dependencies(logits, None)
    assert torch.allclose(h1.sum(1), torch.ones(N_ITEMS)) and not torch.allclose(h1, h2)
    model.eval()  # the reference samples at evaluation too; here from the fixed eval_seed
    e1 = model._dependencies(logits, torch.Generator().manual_seed(0))
    e2 = model._dependencies(logits, torch.Generator().manual_seed(0))
    assert torch.equal(e1, e2) and not torch.allclose(e1, torch.softmax(logits / 0.2, dim=1))
    assert torch.allclose(e1.sum(1), torch.ones(N_ITEMS))
    u = torch.rand(logits.shape, generator=torch.Generator().manual_seed(0))  # Gumbel(0, 1) = -log(-log u)
    assert torch.allclose(e1, torch.softmax((logits - torch.log(-torch.log(u))) / 0.2, dim=1), atol=1e-5)
    users, items = model.embeddings()
    assert all(torch.equal(a, b) for a, b in zip((users, items), model.embeddings()))  # deterministic
    plain = _model(keep_rate=1.0, eval_gumbel=False)
    plain.eval()
    assert torch.allclose(plain._dependencies(logits, None), torch.softmax(logits / 0.2, dim=1))
    dropped = _model(keep_rate=0.5)
    dropped.train()
    h = dropped._dependencies(logits, None)
    assert (h == 0).any() and (h >= 0).all()  # dropout acts on the dependencies


def test_user_modality_input_is_the_mean_of_its_items_features():
    inputs = tiny_inputs()
    model = _model(mm_layers=0)
    mge = model.modality_graph_embedding("text")
    items = model.features["text"] @ model.projections["text"]
    r = torch.as_tensor(inputs.train.toarray())
    assert torch.allclose(mge[N_USERS:], items)
    assert torch.allclose(mge[:N_USERS], (r @ items) / r.sum(1, keepdim=True), atol=1e-6)


def test_final_embedding_is_local_plus_alpha_normalised_global():
    model = _model(alpha=0.7, eval_gumbel=False)
    model.eval()
    users, items = model.embeddings()
    with torch.no_grad():
        cge = lightgcn(model.ui_adjacency, torch.cat([model.user_embedding, model.item_embedding]), 2)
        local = cge + sum(F.normalize(model.modality_graph_embedding(m), dim=1) for m in ("image", "text"))
        ghe = 0
        for m in ("image", "text"):
            h_i = torch.softmax(model.features[m] @ model.hyperedges[m] / 0.2, dim=1)
            h_u = torch.softmax(model.interactions @ (model.features[m] @ model.hyperedges[m]) / 0.2, dim=1)
            u, i = hypergraph_propagation(h_i, h_u, cge[N_USERS:], 1)
            ghe = ghe + torch.cat([u, i])
    assert torch.allclose(torch.cat([users, items]), local + 0.7 * F.normalize(ghe, dim=1), atol=1e-5)


def test_loss_weights_its_terms():
    model = _model(cl_weight=0.5, reg_weight=0.1)
    users, pos, neg = torch.tensor([0, 1, 1]), torch.tensor([0, 1, 1]), torch.tensor([5, 6, 7])
    t = model.loss(users, pos, neg)
    assert t["hcl"] > 0
    assert torch.allclose(t["loss"], t["bpr"] + 0.5 * t["hcl"] + 0.1 * t["reg"])
    model.eval()  # deterministic forward: the regulariser is on the final representations
    t = model.loss(users, pos, neg)
    u, i = model.embeddings()
    assert torch.allclose(t["reg"], emb_loss(u[users], i[pos], i[neg]))  # MMRec's unsquared norms / batch
    r = model.forward()  # the contrast runs over every batch row, the repeated user 1 and item 1 included
    hcl = (info_nce_all_negatives(r.hyper_user["image"][users], r.hyper_user["text"], users, 0.2)
           + info_nce_all_negatives(r.hyper_item["image"][pos], r.hyper_item["text"], pos, 0.2))
    assert torch.allclose(t["hcl"], hcl)


def test_single_modality_has_no_contrast_and_none_is_an_error():
    t = _model(modalities=("text",)).loss(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([2, 3]))
    assert t["hcl"].item() == 0.0 and torch.isfinite(t["loss"])
    three = _model(modalities=("genre", "image", "text"))
    assert torch.isfinite(three.loss(torch.tensor([0]), torch.tensor([0]), torch.tensor([2]))["hcl"])
    with pytest.raises(ValueError, match="lgmrec needs at least one modality feature, the dataset has none"):
        _model(modalities=())
    with pytest.raises(ValueError, match="hyper_layers"):
        _model(hyper_layers=0)
