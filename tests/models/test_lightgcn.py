import torch
import torch.nn.functional as F
from tiny import N_USERS, tiny_inputs

from siger_kedro.models.lightgcn import LightGCNConfig, build


def test_loss_is_bpr_on_the_layer_mean_plus_mmrecs_emb_loss_of_layer_0_rows():
    inputs = tiny_inputs()
    torch.manual_seed(0)
    config = LightGCNConfig(embedding_dim=4, layers=2, reg_weight=0.1)
    model = build(inputs, config, torch.device("cpu"))
    users, pos, neg = torch.tensor([0, 3, 3]), torch.tensor([1, 2, 2]), torch.tensor([5, 7, 9])

    a = torch.tensor(inputs.ui_adjacency.toarray())
    e0 = torch.cat([model.user_embedding, model.item_embedding]).detach()
    e = (e0 + a @ e0 + a @ a @ e0) / 3
    u, p, n = e[users], e[pos + N_USERS], e[neg + N_USERS]
    bpr = -F.logsigmoid((u * p).sum(1) - (u * n).sum(1)).mean()
    # MMRec's EmbLoss: each tensor's unsquared norm, summed, over the batch size
    reg = (e0[users].norm() + e0[pos + N_USERS].norm() + e0[neg + N_USERS].norm()) / 3

    terms = model.loss(users, pos, neg)
    assert torch.allclose(terms["bpr"], bpr, atol=1e-6)
    assert torch.allclose(terms["reg"], reg, atol=1e-6)
    assert torch.allclose(terms["loss"], bpr + 0.1 * reg, atol=1e-6)
