"""Every registered model: builds from its defaults, scores every user x item, and learns."""
import dataclasses
from pathlib import Path

import pytest
import torch
import yaml
from tiny import N_ITEMS, N_USERS, tiny_inputs

from siger_kedro.models.base import Model, ModelModule
from siger_kedro.models.registry import (
    MODELS,
    config_class,
    create_model,
    model_config,
    model_module,
)
from siger_kedro.training.sampler import NegativeSampler
from siger_kedro.training.trainer import epoch_batches


def _train(name, epochs=2, **hyper):
    torch.manual_seed(0)
    inputs = tiny_inputs()
    model = create_model(name, inputs, {"embedding_dim": 8, **hyper}, torch.device("cpu"))
    users, items = (torch.as_tensor(a) for a in inputs.train_pairs())
    sampler = NegativeSampler(users, items, N_USERS, N_ITEMS)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for epoch in range(1, epochs + 1):
        if hasattr(model, "start_epoch"):
            model.start_epoch(epoch)
        model.train()
        total = 0.0
        for idx in epoch_batches(users.numel(), 16, 0, epoch, "cpu"):
            terms = model.loss(users[idx], items[idx], sampler.sample(users[idx]))
            optimizer.zero_grad()
            terms["loss"].backward()
            optimizer.step()
            total += float(terms["loss"])
        losses.append(total)
    return model, losses


@pytest.mark.parametrize("name", list(MODELS))
def test_embeddings_score_every_user_and_item(name):
    model, _ = _train(name, epochs=1)
    model.eval()
    users, items = model.embeddings()
    assert users.shape[0] == N_USERS and items.shape[0] == N_ITEMS
    assert users.shape[1] == items.shape[1]
    assert torch.isfinite(users @ items.T).all()


@pytest.mark.parametrize("name", list(MODELS))
def test_training_loss_decreases(name):
    _, losses = _train(name, epochs=2)
    assert losses[-1] < losses[0], losses


def test_unknown_model_and_hyperparameter_are_named():
    with pytest.raises(ValueError, match="unknown model 'nope'.*lightgcn"):
        model_config("nope")
    with pytest.raises(ValueError, match=r"lightgcn has no hyper-parameter \['depth'\]"):
        model_config("lightgcn", {"depth": 2})


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_keeps_the_contract_and_one_set_of_defaults(name, project_root):
    assert isinstance(model_module(name), ModelModule)
    model, _ = _train(name, epochs=1)
    assert isinstance(model, Model) and isinstance(model, torch.nn.Module)
    # conf/base/parameters_models/<model>.yml states the dataclass's defaults, not other ones
    block = yaml.safe_load((project_root / "conf" / "base" / "parameters_models" / f"{name}.yml").read_text())[name]
    defaults = dataclasses.asdict(config_class(name)())
    assert block["hyperparameters"] == defaults
    assert set(block.get("grid") or {}) <= set(defaults)


def test_models_are_found_without_a_list_to_edit():
    assert MODELS[:2] == ("lightgcn", "vbpr") and MODELS[-1] == "siger" and len(MODELS) == 11
    helpers = {p.stem for p in (Path(model_module("siger").__file__).parent).glob("*.py")} - set(MODELS)
    assert {"base", "losses", "registry", "sparse", "propagation"} <= helpers
