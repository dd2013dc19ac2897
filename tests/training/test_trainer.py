import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from siger_kedro.metrics import Evaluator
from siger_kedro.models.siger import Siger, SigerConfig
from siger_kedro.models.sparse import SparseOperator
from siger_kedro.training.sampler import NegativeSampler
from siger_kedro.training.trainer import (TrainConfig, TrainingDiverged, adam, epoch_batches, epoch_triples, fit,
                                          resolve_device)


def _setup(seed=0):
    rng = np.random.default_rng(seed)
    n_users, n_items = 30, 20
    # two taste groups so that there is something to learn
    dense = np.zeros((n_users, n_items), dtype=np.float32)
    for u in range(n_users):
        group = u % 2
        dense[u, rng.choice(np.arange(group * 10, group * 10 + 10), 5, replace=False)] = 1
    r = sp.csr_matrix(dense)
    adj = sp.bmat([[None, r], [r.T, None]]).tocsr()
    deg = np.asarray(adj.sum(1)).ravel()
    adj = sp.diags(deg ** -0.5) @ adj @ sp.diags(deg ** -0.5)
    torch.manual_seed(seed)
    model = Siger(n_users, n_items, SparseOperator(adj), SparseOperator(r), {}, {}, SigerConfig(embedding_dim=8))
    users, items = (torch.as_tensor(a, dtype=torch.long) for a in r.nonzero())
    evaluator = Evaluator(n_items, ks=[5], device="cpu")
    validate = lambda m: evaluator.evaluate(*m.embeddings(), truth=r, exclude=())  # noqa: E731
    return model, users, items, NegativeSampler(users, items, n_users, n_items), validate


def test_fit_lowers_the_loss_and_keeps_the_best_weights():
    model, users, items, sampler, validate = _setup()
    result = fit(model, users, items, sampler, validate,
                 TrainConfig(epochs=15, batch_size=32, learning_rate=0.01, patience=100,
                             valid_metric="recall@5", show_progress=False))
    losses = [h["train_loss"] for h in result.history]
    assert len(losses) == 15 and losses[-1] < losses[0]
    best = max(result.history, key=lambda h: h["valid_recall@5"])
    assert result.best_epoch == best["epoch"]
    model.load_state_dict(result.best_state)
    assert validate(model)["recall@5"] == pytest.approx(best["valid_recall@5"])


def test_early_stopping_after_patience_epochs_without_improvement():
    model, users, items, sampler, _ = _setup()
    result = fit(model, users, items, sampler, lambda m: {"recall@5": 0.5},
                 TrainConfig(epochs=50, batch_size=32, patience=3, valid_metric="recall@5", show_progress=False))
    assert result.best_epoch == 1 and len(result.history) == 4


def test_nan_loss_stops_with_a_clear_error():
    model, users, items, sampler, validate = _setup()
    with torch.no_grad():
        model.user_embedding.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="became nan at epoch 1"):
        fit(model, users, items, sampler, validate,
            TrainConfig(epochs=3, batch_size=32, valid_metric="recall@5", show_progress=False))


def test_auto_device_is_cpu_without_cuda():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


def test_same_seed_gives_identical_training_on_the_cpu():
    from siger_kedro.training.trainer import seed_everything

    histories = []
    for _ in range(2):
        model, users, items, sampler, validate = _setup(seed=3)
        seed_everything(11)
        result = fit(model, users, items, sampler, validate,
                     TrainConfig(epochs=3, batch_size=32, valid_metric="recall@5", show_progress=False))
        histories.append([{k: v for k, v in h.items() if k != "epoch_seconds"} for h in result.history])
    assert histories[0] == histories[1]


@pytest.mark.parametrize("schedule", [{}, {"lr_decay": 0.5, "lr_decay_every": 2, "weight_decay": 1e-3}])
def test_interrupted_run_resumes_to_the_same_result(tmp_path, schedule):
    from siger_kedro.training.checkpoint import Checkpointer
    from siger_kedro.training.trainer import seed_everything

    config = TrainConfig(epochs=5, batch_size=32, valid_metric="recall@5", show_progress=False, **schedule)

    def history(result):
        return [{k: v for k, v in h.items() if k != "epoch_seconds"} for h in result.history]

    model, users, items, sampler, validate = _setup(seed=5)
    seed_everything(3)
    reference = fit(model, users, items, sampler, validate, config)

    model, users, items, sampler, validate = _setup(seed=5)
    seed_everything(3)
    calls = {"n": 0}

    def interrupted(m):  # Ctrl-C while validating epoch 3, after epoch 2 was checkpointed
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return validate(m)

    ckpt = Checkpointer(tmp_path / "ckpt.pt", run_key="same data and settings")
    with pytest.raises(KeyboardInterrupt):
        fit(model, users, items, sampler, interrupted, config, checkpoint=ckpt)
    assert ckpt.load()["epoch"] == 2

    # a new process: fresh model and seeds, the checkpoint restores weights, optimizer and RNGs
    model, users, items, sampler, validate = _setup(seed=5)
    seed_everything(1234)
    resumed = fit(model, users, items, sampler, validate, config, checkpoint=ckpt)
    assert history(resumed) == history(reference)
    assert all(torch.equal(resumed.best_state[k], reference.best_state[k]) for k in reference.best_state)
    assert not (tmp_path / "ckpt.pt").exists()


def test_checkpoint_of_other_settings_is_not_resumed(tmp_path):
    from siger_kedro.training.checkpoint import Checkpointer

    model, users, items, sampler, validate = _setup()
    config = TrainConfig(epochs=2, batch_size=32, valid_metric="recall@5", show_progress=False)
    Checkpointer(tmp_path / "c.pt", "a").save({"epoch": 1})
    assert Checkpointer(tmp_path / "c.pt", "b").load() is None
    result = fit(model, users, items, sampler, validate, config, checkpoint=Checkpointer(tmp_path / "c.pt", "b"))
    assert [h["epoch"] for h in result.history] == [1, 2]


def test_nan_loss_keeps_the_last_good_checkpoint(tmp_path):
    from siger_kedro.training.checkpoint import Checkpointer

    model, users, items, sampler, validate = _setup()
    ckpt = Checkpointer(tmp_path / "c.pt", "k")
    config = TrainConfig(epochs=4, batch_size=32, valid_metric="recall@5", show_progress=False)

    def poison_after_two(m):
        metrics = validate(m)
        if len(calls) == 1:
            with torch.no_grad():
                m.user_embedding.fill_(float("nan"))
        calls.append(1)
        return metrics

    calls = []
    with pytest.raises(TrainingDiverged, match="checkpoint of epoch 2 is kept"):
        fit(model, users, items, sampler, poison_after_two, config, checkpoint=ckpt)
    assert ckpt.load()["epoch"] == 2


def test_epoch_triples_follow_the_batches_with_non_positive_negatives():
    model, users, items, sampler, _ = _setup()
    batches = epoch_batches(users.numel(), 16, seed=0, epoch=1, device="cpu")
    triples = epoch_triples(users, items, sampler, batches)
    assert [len(t[0]) for t in triples] == [len(b) for b in batches]
    positives = set(zip(users.tolist(), items.tolist()))
    for idx, (u, p, n) in zip(batches, triples):
        assert torch.equal(u, users[idx]) and torch.equal(p, items[idx])
        assert not positives & set(zip(u.tolist(), n.tolist()))


def test_adam_is_fused_for_cpu_float_weights():
    model = _setup()[0]
    assert adam(model, 1e-3).defaults["fused"]


def test_weight_decay_reaches_adam_for_every_parameter():
    model = _setup()[0]
    (group,) = adam(model, 1e-3, weight_decay=1e-4).param_groups
    assert group["weight_decay"] == 1e-4 and len(group["params"]) == len(list(model.parameters()))
    # and fit uses it: with a huge decay and no loss gradient, Adam's step on a weight w is
    # lr * sign(w) (its first update), so every weight shrinks towards 0 by lr
    model, users, items, sampler, _ = _setup()
    model.loss = lambda u, p, n: {"loss": (model.user_embedding * 0).sum()}
    before = model.user_embedding.detach().clone()
    fit(model, users, items, sampler, lambda m: {"recall@5": 0.0},
        TrainConfig(epochs=1, batch_size=10_000, learning_rate=1e-3, weight_decay=1e3, valid_metric="recall@5",
                    show_progress=False, term_gradients=False))
    assert torch.allclose(model.user_embedding.detach(), before - 1e-3 * before.sign(), atol=1e-6)


def test_learning_rate_decays_by_lr_decay_every_lr_decay_every_epochs():
    from siger_kedro.training.trainer import epoch_learning_rate

    config = TrainConfig(learning_rate=0.01, lr_decay=0.96, lr_decay_every=50)
    assert epoch_learning_rate(config, 1) == 0.01
    assert epoch_learning_rate(config, 51) == pytest.approx(0.0096)
    assert epoch_learning_rate(config, 26) == pytest.approx(0.01 * 0.96 ** 0.5)  # MMRec's smooth decay
    assert epoch_learning_rate(TrainConfig(learning_rate=0.01), 500) == 0.01  # the default: constant
    model, users, items, sampler, validate = _setup()
    result = fit(model, users, items, sampler, validate,
                 TrainConfig(epochs=3, batch_size=32, learning_rate=0.01, lr_decay=0.5, valid_metric="recall@5",
                             show_progress=False))
    assert [h["learning_rate"] for h in result.history] == [0.01, 0.005, 0.0025]


def test_each_terms_weighted_gradient_norm_is_logged_without_changing_training():
    config = TrainConfig(epochs=2, batch_size=32, valid_metric="recall@5", show_progress=False)
    model, users, items, sampler, validate = _setup(seed=2)
    torch.manual_seed(9)
    plain = fit(model, users, items, sampler, validate, dataclasses.replace(config, term_gradients=False))
    model, users, items, sampler, validate = _setup(seed=2)
    torch.manual_seed(9)
    logged = fit(model, users, items, sampler, validate, config)
    record = logged.history[0]
    assert {"grad_bpr_user", "grad_bpr_item", "grad_reg_user", "grad_reg_item"} <= set(record)
    assert record["grad_bpr_item"] > 0
    # the diagnostics draw nothing from the generators: training is the same with or without them
    assert [h["train_loss"] for h in plain.history] == [h["train_loss"] for h in logged.history]
    assert all(torch.equal(plain.best_state[k], logged.best_state[k]) for k in plain.best_state)


def test_term_gradient_norms_are_the_weighted_norms_of_each_terms_gradient():
    from siger_kedro.training.trainer import term_gradient_norms

    model, users, items, sampler, _ = _setup(seed=3)
    u, p, n = users[:16], items[:16], sampler.sample(users[:16])
    norms = term_gradient_norms(model, u, p, n)
    terms = model.loss(u, p, n)
    grad_reg = torch.autograd.grad(terms["reg"], [model.item_embedding])[0]
    assert norms["grad_reg_item"] == pytest.approx(model.config.lambda_r * float(grad_reg.norm()), rel=1e-5)
