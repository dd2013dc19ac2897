import pytest
import torch

from siger_kedro.training.sampler import NegativeSampler


def test_negatives_are_never_training_items_and_cover_the_rest_uniformly():
    torch.manual_seed(0)
    users = torch.tensor([0, 0, 0, 1, 1, 0])  # user 0: items {1, 3, 4} (4 duplicated)
    items = torch.tensor([1, 3, 4, 0, 2, 4])
    sampler = NegativeSampler(users, items, n_users=2, n_items=6)
    draws = sampler.sample(torch.zeros(6000, dtype=torch.long))
    counts = torch.bincount(draws, minlength=6)
    assert counts[[1, 3, 4]].sum() == 0
    # the free items {0, 2, 5} each get about a third
    assert ((counts[[0, 2, 5]].float() / 6000 - 1 / 3).abs() < 0.03).all()
    assert set(sampler.sample(torch.ones(500, dtype=torch.long)).tolist()) == {1, 3, 4, 5}


def test_user_with_every_item_is_rejected():
    with pytest.raises(ValueError, match="every item"):
        NegativeSampler(torch.tensor([0, 0]), torch.tensor([0, 1]), n_users=1, n_items=2)
