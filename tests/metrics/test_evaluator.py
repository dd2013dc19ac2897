import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from siger_kedro.metrics import Evaluator


def _csr(n_users, n_items, pairs):
    rows, cols = zip(*pairs) if pairs else ((), ())
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_users, n_items))


def _fixed_scores(scores):
    """Embeddings whose dot product is exactly `scores` (identity item embeddings)."""
    scores = torch.tensor(scores, dtype=torch.float32)
    return scores, torch.eye(scores.shape[1])


def test_train_items_masked_even_if_top_scored():
    users, items = _fixed_scores([[5.0, 4.0, 3.0, 2.0, 1.0]])  # item 0 scores highest
    train, truth = _csr(1, 5, [(0, 0)]), _csr(1, 5, [(0, 1)])
    ev = Evaluator(5, ks=[1])
    assert ev.evaluate(users, items, truth, [train])["recall@1"] == 1.0  # item 1 now first
    assert ev.evaluate(users, items, truth, [])["recall@1"] == 0.0  # unmasked: item 0 first
    top, scores = ev.top_k(users, items, [train], k=2)
    assert top.tolist() == [[1, 2]]
    assert scores.tolist() == [[4.0, 3.0]]


def test_valid_in_pool_vs_masked():
    # Ranking by score: 0 (train), 1 (valid), 2 (test), 3, 4.
    users, items = _fixed_scores([[5.0, 4.0, 3.0, 2.0, 1.0]])
    train, valid, test = (_csr(1, 5, [(0, i)]) for i in (0, 1, 2))
    ev = Evaluator(5, ks=[1, 2])
    in_pool = ev.evaluate(users, items, test, [train])  # MMRec default
    masked = ev.evaluate(users, items, test, [train, valid])
    # In pool: valid item takes rank 1, test item is at rank 2.
    assert in_pool["recall@1"] == 0.0
    assert in_pool["ndcg@2"] == pytest.approx(1 / math.log2(3))
    assert in_pool["map@2"] == pytest.approx(0.5)  # P@2 = 1/2
    # Masked: test item moves to rank 1.
    assert masked["recall@1"] == 1.0
    assert masked["ndcg@2"] == pytest.approx(1.0)


def test_users_without_truth_excluded():
    users, items = _fixed_scores(
        [
            [3.0, 2.0, 1.0],  # truth {0}: hit at rank 1
            [3.0, 2.0, 1.0],  # truth {2}: rank 3, a miss at K=1
            [3.0, 2.0, 1.0],  # no truth: must not count (would be a hit-free 0 or a NaN)
        ]
    )
    truth = _csr(3, 3, [(0, 0), (1, 2)])
    m = Evaluator(3, ks=[1]).evaluate(users, items, truth, [])
    assert m["recall@1"] == pytest.approx(0.5)  # (1 + 0) / 2 users, not / 3
    assert m["precision@1"] == pytest.approx(0.5)


def test_masked_truth_item_in_padding_is_not_a_hit():
    # 3 items, 2 masked, K = 5 > n_items: the list is padded with masked (-inf) items.
    users, items = _fixed_scores([[1.0, 2.0, 3.0]])
    train, truth = _csr(1, 3, [(0, 0), (0, 1)]), _csr(1, 3, [(0, 0)])
    m = Evaluator(3, ks=[5]).evaluate(users, items, truth, [train])
    assert m["recall@5"] == 0.0


def _random_case(seed=0, n_users=60, n_items=40, d=8):
    rng = np.random.default_rng(seed)
    user_emb = torch.tensor(rng.normal(size=(n_users, d)), dtype=torch.float32)
    item_emb = torch.tensor(rng.normal(size=(n_items, d)), dtype=torch.float32)
    split = rng.random((n_users, n_items))
    train = sp.csr_matrix(split < 0.2, dtype=np.float32)
    valid = sp.csr_matrix((split >= 0.2) & (split < 0.25), dtype=np.float32)
    test = sp.csr_matrix((split >= 0.25) & (split < 0.32), dtype=np.float32)
    return user_emb, item_emb, train, valid, test


def _numpy_reference(user_emb, item_emb, truth, exclude, ks):
    """Dense, per-user computation written independently of the library."""
    scores = (user_emb @ item_emb.T).numpy().astype(np.float64)
    for m in exclude:
        scores[m.toarray() > 0] = -np.inf
    dense_truth = truth.toarray() > 0
    out = {f"{n}@{k}": [] for k in ks for n in ("recall", "ndcg", "precision", "map")}
    for u in np.flatnonzero(dense_truth.any(1)):
        order = np.argsort(-scores[u], kind="stable")
        n_rel = dense_truth[u].sum()
        for k in ks:
            rel = dense_truth[u, order[:k]] & np.isfinite(scores[u, order[:k]])
            ranks = np.flatnonzero(rel) + 1
            idcg = sum(1 / np.log2(r + 1) for r in range(1, min(n_rel, k) + 1))
            out[f"recall@{k}"].append(len(ranks) / n_rel)
            out[f"precision@{k}"].append(len(ranks) / k)
            out[f"ndcg@{k}"].append(sum(1 / np.log2(ranks + 1)) / idcg)
            out[f"map@{k}"].append(
                sum((i + 1) / r for i, r in enumerate(ranks)) / min(n_rel, k)
            )
    return {key: float(np.mean(v)) for key, v in out.items()}


@pytest.mark.parametrize("mask_valid", [False, True])
def test_matches_reference_and_batch_size_invariant(mask_valid):
    user_emb, item_emb, train, valid, test = _random_case()
    exclude = [train, valid] if mask_valid else [train]
    ks = (5, 10, 20, 50)  # 50 > n_items = 40 exercises the padding path
    expected = _numpy_reference(user_emb, item_emb, test, exclude, ks)
    results = [
        Evaluator(40, ks=ks, batch_size=bs).evaluate(user_emb, item_emb, test, exclude)
        for bs in (1, 7, 1024)
    ]
    for m in results:
        assert set(m) == set(expected)
        for key in expected:
            assert m[key] == pytest.approx(expected[key], abs=1e-6), key
            assert isinstance(m[key], float)


def test_task_cached_but_results_not():
    user_emb, item_emb, train, _, test = _random_case(seed=3)
    ev = Evaluator(40, ks=[10])
    task = ev.prepare(test, [train])
    assert ev.prepare(test, [train]) is task  # CSR conversion happens once
    first = ev.evaluate(user_emb, item_emb, test, [train])
    second = ev.evaluate(-user_emb, item_emb, test, [train])  # new embeddings, same task
    assert first != second
    assert ev.evaluate(user_emb, item_emb, task=task) == first


def test_top_k_shape_exclusion_users_and_cap():
    user_emb, item_emb, train, valid, _ = _random_case(seed=5)
    ev = Evaluator(40, batch_size=16)
    items, scores = ev.top_k(user_emb, item_emb, [train, valid], k=10)
    assert items.shape == (60, 10) and items.dtype == torch.long
    assert scores.shape == (60, 10)
    masked = (train + valid).toarray() > 0
    assert not masked[np.arange(60)[:, None], items.numpy()].any()
    assert (scores[:, :-1] >= scores[:, 1:]).all()  # descending
    # Scores are the dot products of the returned items.
    assert torch.allclose(scores, (user_emb[:, None, :] * item_emb[items]).sum(-1), atol=1e-5)

    sub_items, sub_scores = ev.top_k(user_emb, item_emb, [train, valid], k=10, users=[7, 2])
    assert torch.equal(sub_items, items[[7, 2]])
    assert torch.allclose(sub_scores, scores[[7, 2]])  # matmul rounding varies by batch

    capped, _ = ev.top_k(user_emb, item_emb, [], k=100)  # k capped at n_items
    assert capped.shape == (60, 40)
    assert (capped.sort(1).values == torch.arange(40)).all()  # every item exactly once


def test_rejects_mismatched_shapes():
    user_emb, item_emb, train, _, test = _random_case()
    ev = Evaluator(40)
    with pytest.raises(ValueError):
        ev.evaluate(user_emb[:10], item_emb, test, [train])
    with pytest.raises(ValueError):
        ev.evaluate(user_emb, item_emb, test, [train[:, :30]])


def test_per_user_metrics_by_hand_and_their_mean_is_evaluate():
    # user 0: test item 2 at rank 2 after masking train item 0; user 1: no test item; user 2:
    # test items 3 and 4 at ranks 1 and 3
    users, items = _fixed_scores([[5.0, 4.0, 3.0, 2.0, 1.0], [1, 2, 3, 4, 5], [1, 4, 2, 5, 3]])
    train, test = _csr(3, 5, [(0, 0)]), _csr(3, 5, [(0, 2), (2, 3), (2, 4)])
    ev = Evaluator(5, ks=[1, 3], batch_size=1)
    ids, values = ev.evaluate_users(users, items, test, [train])
    assert ids.tolist() == [0, 2]
    assert values["recall@1"].tolist() == [0.0, 0.5] and values["recall@3"].tolist() == [1.0, 1.0]
    assert values["ndcg@3"][0] == pytest.approx(1 / math.log2(3))
    means = ev.evaluate(users, items, test, [train])
    assert all(values[k].mean() == pytest.approx(means[k]) for k in means)
