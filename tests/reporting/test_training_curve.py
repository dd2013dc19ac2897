import math

import pytest

from siger_kedro.reporting.training_curve import gradient_norms, gradient_shares, training_curve

HISTORY = [
    {"epoch": 1, "train_loss": 0.7, "valid_recall@20": 0.1,
     "grad_bpr_item": 1.0, "grad_mp_item": 3.0, "grad_bpr_user": 2.0, "grad_mp_user": 2.0},
    {"epoch": 2, "train_loss": 0.6, "valid_recall@20": 0.2,
     "grad_bpr_item": 3.0, "grad_mp_item": 1.0, "grad_bpr_user": 0.0, "grad_mp_user": 0.0},
    {"epoch": 3, "train_loss": 0.5, "valid_recall@20": 0.3},  # no gradients logged this epoch
]


def test_norms_are_read_per_table_and_term():
    norms = gradient_norms(HISTORY)
    assert norms["item"]["mp"][:2] == [3.0, 1.0] and norms["user"]["bpr"][:2] == [2.0, 0.0]
    assert math.isnan(norms["item"]["bpr"][2])


def test_shares_of_an_epoch_sum_to_one():
    shares = gradient_shares(HISTORY)
    assert shares["item"]["bpr"][:2] == [pytest.approx(0.25), pytest.approx(0.75)]
    assert shares["item"]["mp"][:2] == [pytest.approx(0.75), pytest.approx(0.25)]
    assert shares["user"]["bpr"][0] == pytest.approx(0.5)
    # nothing on the user table in epoch 2, nothing logged in epoch 3: no share, not a zero
    assert math.isnan(shares["user"]["bpr"][1]) and math.isnan(shares["item"]["mp"][2])


def test_no_gradients_means_no_gradient_panels():
    plain = [{k: v for k, v in h.items() if not k.startswith("grad_")} for h in HISTORY]
    assert gradient_shares(plain) == {}
    assert len(training_curve(plain, "lightgcn", "valid_recall@20").axes) == 2
    fig = training_curve(HISTORY, "siger", "valid_recall@20")
    assert len(fig.axes) == 4 and fig.axes[3].get_ylim() == (0, 1)
    assert len(fig.axes[3].lines) == 4  # two terms on two tables
