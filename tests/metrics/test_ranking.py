import math

import pytest
import torch

from siger_kedro.metrics import metric_keys, ranking_metric_sums, ranking_metrics


def _reference(hits_row, n_rel, k):
    """Slow per-user definitions, written straight from the protocol."""
    top = [float(h) for h in hits_row[:k]] + [0.0] * max(0, k - len(hits_row))
    n_hit = sum(top)
    dcg = sum(h / math.log2(r + 2) for r, h in enumerate(top))
    n_ideal = min(n_rel, k)
    idcg = sum(1 / math.log2(r + 2) for r in range(n_ideal))
    ap, seen = 0.0, 0
    for r, h in enumerate(top):
        if h:
            seen += 1
            ap += seen / (r + 1)
    return {
        f"recall@{k}": n_hit / n_rel,
        f"ndcg@{k}": dcg / idcg,
        f"precision@{k}": n_hit / k,
        f"map@{k}": ap / n_ideal,
    }


def test_single_user_hand_worked():
    # |T| = 3, hits at ranks 1 and 3.
    hits = torch.tensor([[1, 0, 1, 0, 0]], dtype=torch.bool)
    m = ranking_metrics(hits, torch.tensor([3]), ks=[5])
    assert m["recall@5"] == pytest.approx(2 / 3)  # 2 hits of 3 relevant
    assert m["precision@5"] == pytest.approx(2 / 5)  # 2 hits in 5 slots
    dcg = 1 + 1 / math.log2(4)  # = 1.5
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)  # 3 = min(3, 5) ideal positions
    assert m["ndcg@5"] == pytest.approx(dcg / idcg)  # ~0.70391
    assert m["ndcg@5"] == pytest.approx(0.703917, abs=1e-5)
    # P@1 * rel_1 + P@3 * rel_3 = 1/1 + 2/3, over min(3, 5) = 3
    assert m["map@5"] == pytest.approx((1 + 2 / 3) / 3)


def test_relevant_set_larger_than_k_uses_min():
    # Same ranking, K = 2 < |T| = 3: only rank 1 hits.
    hits = torch.tensor([[1, 0, 1, 0, 0]], dtype=torch.float32)
    m = ranking_metrics(hits, torch.tensor([3]), ks=[2])
    assert m["recall@2"] == pytest.approx(1 / 3)  # recall still divides by |T|
    assert m["precision@2"] == pytest.approx(1 / 2)
    # IDCG over min(3, 2) = 2 positions: 1 + 1/log2(3)
    assert m["ndcg@2"] == pytest.approx(1 / (1 + 1 / math.log2(3)))  # ~0.6131
    assert m["map@2"] == pytest.approx(1 / 2)  # (1/1) / min(3, 2)

    # A perfect top-2 with |T| = 3 > K has NDCG and MAP exactly 1.
    perfect = ranking_metrics(torch.tensor([[1, 1, 0]]), torch.tensor([3]), ks=[2])
    assert perfect["ndcg@2"] == pytest.approx(1.0)
    assert perfect["map@2"] == pytest.approx(1.0)
    assert perfect["recall@2"] == pytest.approx(2 / 3)


def test_users_without_truth_are_not_averaged():
    hits = torch.tensor(
        [
            [1, 0, 0, 0, 0],  # |T| = 1, hit at rank 1: recall/ndcg/map 1, precision 1/5
            [0, 0, 0, 0, 0],  # |T| = 2, no hit: all 0
            [1, 1, 1, 1, 1],  # |T| = 0: ignored even though its row has hits
        ]
    )
    m = ranking_metrics(hits, torch.tensor([1, 2, 0]), ks=[5])
    assert m["recall@5"] == pytest.approx(0.5)  # (1 + 0) / 2, not / 3
    assert m["ndcg@5"] == pytest.approx(0.5)
    assert m["map@5"] == pytest.approx(0.5)
    assert m["precision@5"] == pytest.approx(0.1)  # (1/5 + 0) / 2
    assert all(math.isfinite(v) for v in m.values())


def test_sums_keys_devices_and_streaming():
    torch.manual_seed(0)
    hits = torch.rand(40, 50) < 0.2
    n_rel = torch.randint(0, 30, (40,))
    ks = [5, 10, 20, 50]
    full = ranking_metric_sums(hits, n_rel, ks)
    assert list(full) == metric_keys(ks)
    assert all(v.dim() == 0 and v.device == hits.device for v in full.values())
    a = ranking_metric_sums(hits[:13], n_rel[:13], ks)
    b = ranking_metric_sums(hits[13:], n_rel[13:], ks)
    for key in full:
        assert torch.allclose(a[key] + b[key], full[key])


def test_matches_slow_reference_on_random_rankings():
    torch.manual_seed(1)
    ks = [1, 3, 5, 10]
    hits = torch.rand(25, 10) < 0.3
    n_rel = hits.sum(1) + torch.randint(0, 4, (25,))  # |T| >= hits in the list
    n_rel[n_rel == 0] = 1
    got = ranking_metrics(hits, n_rel, ks)
    expected = {key: 0.0 for key in got}
    for row, n in zip(hits.tolist(), n_rel.tolist()):
        for k in ks:
            for key, v in _reference(row, n, k).items():
                expected[key] += v / len(hits)
    for key in got:
        assert got[key] == pytest.approx(expected[key], abs=1e-6), key


def test_short_hit_list_pads_with_misses():
    # Only 3 ranked items (e.g. n_items < K); K = 5 counts the missing ranks as misses.
    m = ranking_metrics(torch.tensor([[0, 1, 0]]), torch.tensor([1]), ks=[5])
    assert m["recall@5"] == pytest.approx(1.0)
    assert m["precision@5"] == pytest.approx(1 / 5)
    assert m["ndcg@5"] == pytest.approx(1 / math.log2(3))  # hit at rank 2, IDCG 1
    assert m["map@5"] == pytest.approx(1 / 2)  # P@2 = 1/2, over min(1, 5)
