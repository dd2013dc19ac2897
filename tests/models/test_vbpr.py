import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tiny import N_ITEMS, N_USERS, tiny_inputs

from siger_kedro.models.vbpr import VBPR, VBPRConfig, build


def _model(d=4, reg_weight=0.0):
    torch.manual_seed(0)
    features = {"text": torch.rand(5, 3), "image": torch.rand(5, 2)}
    return VBPR(4, 5, features, VBPRConfig(embedding_dim=d, reg_weight=reg_weight)), features


def test_dimensions_user_2d_item_id_then_content():
    model, features = _model(d=4)
    users, items = model.embeddings()
    assert users.shape == (4, 8) and items.shape == (5, 8)
    # modalities concatenated in sorted order: image (2 columns) then text (3)
    assert model.content.weight.shape == (4, 5)
    assert torch.equal(model.item_features, torch.cat([features["image"], features["text"]], 1))
    assert torch.equal(items[:, :4], model.item_embedding)
    content = model.item_features @ model.content.weight.T + model.content.bias
    assert torch.allclose(items[:, 4:], content)


def test_batch_loss_reads_its_items_without_torch_unique(monkeypatch):
    # torch.unique reads its output size back to the host: one GPU synchronisation per batch
    model, _ = _model(d=4, reg_weight=0.5)
    users, pos, neg = torch.tensor([0, 1, 3]), torch.tensor([4, 0, 4]), torch.tensor([1, 1, 2])
    u, items = model.user_embedding[users], model.item_representation()
    expected = F.softplus((u * items[neg]).sum(1) - (u * items[pos]).sum(1)).mean()
    monkeypatch.setattr(torch, "unique", lambda *a, **k: pytest.fail("torch.unique in the batch loss"))
    assert torch.isclose(model.loss(users, pos, neg)["bpr"], expected)


def test_loss_hand_computed():
    model, _ = _model(d=1, reg_weight=0.5)
    with torch.no_grad():
        model.user_embedding.copy_(torch.tensor([[1.0, 2.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]]))
        model.item_embedding.copy_(torch.tensor([[1.0], [0.0], [2.0], [0.5], [1.0]]))
        model.content.weight.zero_()
        model.content.bias.fill_(1.0)  # content part of every item = 1
    # user 0 = (1, 2); item 2 = (2, 1), item 1 = (0, 1): scores 4 and 2
    t = model.loss(torch.tensor([0]), torch.tensor([2]), torch.tensor([1]))
    assert torch.isclose(t["bpr"], F.softplus(torch.tensor(2.0 - 4.0)))
    reg = (2 * 5.0 ** 0.5 + 1.0) / 1  # MMRec's EmbLoss: (|u| + |pos| + |neg|) / batch of 1
    assert torch.isclose(t["reg"], torch.tensor(reg))
    assert torch.isclose(t["loss"], t["bpr"] + 0.5 * reg)


def test_build_uses_every_modality_and_rejects_none():
    model = build(tiny_inputs(modalities=("text", "genre", "image")), VBPRConfig(embedding_dim=4), torch.device("cpu"))
    assert model.content.in_features == 6 + 8 + 10  # genre (8), image (10), text (6)
    users, items = model.embeddings()
    assert users.shape == (N_USERS, 8) and items.shape == (N_ITEMS, 8)
    with pytest.raises(ValueError, match="vbpr needs at least one modality feature, the dataset has none"):
        build(tiny_inputs(modalities=()), VBPRConfig(), torch.device("cpu"))


def test_content_map_is_xavier_normal_with_zero_bias_as_in_mmrec():
    torch.manual_seed(3)
    model = VBPR(4, 5, {"text": torch.rand(5, 300)}, VBPRConfig(embedding_dim=200))
    assert torch.count_nonzero(model.content.bias) == 0
    std = (2.0 / (300 + 200)) ** 0.5  # Xavier-normal; nn.Linear's default is uniform with std 1/sqrt(3 * 300)
    assert model.content.weight.std().item() == pytest.approx(std, rel=0.02)


def test_gradient_reaches_content_map():
    model, _ = _model()
    model.loss(torch.tensor([0, 1]), torch.tensor([1, 2]), torch.tensor([3, 4]))["loss"].backward()
    assert model.content.weight.grad.abs().sum() > 0
    assert np.isfinite(model.user_embedding.grad.numpy()).all()
