import numpy as np
import pandas as pd
import pytest

from siger_kedro.data.kcore import dedup_kcore, kcore


def naive_kcore(users, items, k):
    """Reference: drop one offending row at a time until none is left."""
    rows = list(range(len(users)))
    while True:
        du = pd.Series([users[r] for r in rows]).value_counts()
        di = pd.Series([items[r] for r in rows]).value_counts()
        bad = [r for r in rows if du[users[r]] < k or di[items[r]] < k]
        if not bad:
            return set(rows)
        rows.remove(bad[0])


def test_cascade_needs_several_passes():
    users = np.array(["a", "a", "b", "b", "c", "c", "d"])
    items = np.array(["x", "y", "x", "y", "y", "z", "z"])
    # k=2. Pass 1: user d has 1 row -> drop (d,z).
    # Pass 2: item z now has 1 row -> drop (c,z).
    # Pass 3: user c now has 1 row -> drop (c,y); y keeps 2 (a, b).
    # Pass 4: a, b, x, y all have 2 -> stop with 4 rows.
    keep = kcore(users, items, k=2)
    assert keep.tolist() == [True, True, True, True, False, False, False]


def test_whole_graph_can_vanish_and_trivial_k():
    users, items = np.array([1, 1, 2]), np.array([7, 8, 7])
    assert not kcore(users, items, k=2).any()  # user 2 and item 8 go, then user 1 and item 7
    assert kcore(users, items, k=1).all()
    assert kcore(np.array([], dtype=int), np.array([], dtype=int)).shape == (0,)


def test_matches_naive_reference_on_random_graphs():
    rng = np.random.default_rng(0)
    for trial in range(5):
        users = rng.integers(0, 30, 300)
        items = rng.integers(0, 20, 300)
        pairs = pd.DataFrame({"u": users, "i": items}).drop_duplicates()
        u, i = pairs["u"].to_numpy(), pairs["i"].to_numpy()
        keep = kcore(u, i, k=4)
        assert set(np.flatnonzero(keep)) == naive_kcore(u, i, 4)
        assert np.bincount(u[keep]).max(initial=0) >= 4  # not trivially empty
        assert np.all(np.bincount(u[keep])[np.unique(u[keep])] >= 4)
        assert np.all(np.bincount(i[keep])[np.unique(i[keep])] >= 4)


def test_dedup_kcore_drops_duplicates_before_counting_and_keeps_order():
    df = pd.DataFrame({"user": ["b", "a", "a", "b", "a", "c"],
                       "item": ["x", "x", "x", "y", "y", "x"],
                       "timestamp": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    # The duplicate (a,x) must not count: c has 1 row -> dropped; then a, b: 2 rows each,
    # x: 2 (b, a), y: 2.
    out = dedup_kcore(df, k=2)
    assert out[["user", "item"]].values.tolist() == [["b", "x"], ["a", "x"], ["b", "y"], ["a", "y"]]
    assert out["timestamp"].tolist() == [1.0, 2.0, 4.0, 5.0]  # first copy of (a,x) kept
    assert out.index.tolist() == [0, 1, 2, 3]


def test_shape_mismatch_rejected():
    with pytest.raises(ValueError):
        kcore(np.array([1, 2]), np.array([1]))
