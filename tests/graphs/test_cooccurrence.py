import numpy as np
import pytest
import scipy.sparse as sp

from siger_kedro.graphs import cooccurrence_graph

# 3 users, 4 items; user 1 repeats item 1, which must count once.
#   user 0: items 0, 1, 2
#   user 1: items 0, 1, 3 (+1 again)
#   user 2: items 1, 2
USERS = [0, 0, 0, 1, 1, 1, 1, 2, 2]
ITEMS = [0, 1, 2, 0, 1, 3, 1, 1, 2]
# Distinct co-users C_ij (diagonal excluded):
#        0  1  2  3
#   0  [ -, 2, 1, 1 ]   C01: users 0,1   C02: user 0   C03: user 1
#   1  [ 2, -, 2, 1 ]   C12: users 0,2   C13: user 1
#   2  [ 1, 2, -, 0 ]   C23: nobody
#   3  [ 1, 1, 0, - ]
# Weights C/(1+C): 1 -> 1/2, 2 -> 2/3.
H, T = 0.5, 2 / 3


def _assert_canonical(g, n):
    assert isinstance(g, sp.csr_matrix)
    assert g.shape == (n, n) and g.dtype == np.float32
    assert g.has_sorted_indices and np.all(g.data != 0)
    assert not g.diagonal().any()


def test_hand_example_k2():
    g = cooccurrence_graph(USERS, ITEMS, 3, 4, k=2, ties="lowest_id")
    _assert_canonical(g, 4)
    expected = [
        [0, T, H, 0],  # 2, then tie 1 vs 1 at items 2 and 3 -> item 2
        [T, 0, T, 0],  # two 2s; item 3 (count 1) dropped
        [H, T, 0, 0],
        [H, H, 0, 0],  # only two candidates
    ]
    np.testing.assert_allclose(g.toarray(), expected, rtol=1e-7)
    assert g[0, 1] == np.float32(2 / 3) and g[0, 2] == np.float32(0.5)  # unnormalised


def test_hand_example_k1_ties():
    g = cooccurrence_graph(USERS, ITEMS, 3, 4, k=1, ties="lowest_id")
    # Row 1: tie 2 vs 2 at items 0 and 2 -> 0; row 3: tie 1 vs 1 -> item 0.
    np.testing.assert_allclose(
        g.toarray(), [[0, T, 0, 0], [T, 0, 0, 0], [0, T, 0, 0], [H, 0, 0, 0]], rtol=1e-7
    )


def test_k_large_keeps_all_cooccurring_and_isolated_items_are_empty():
    # Item 4 exists but nobody touched it; item 3 shares no user with item 2.
    g = cooccurrence_graph(USERS, ITEMS, 3, 5, k=10)
    _assert_canonical(g, 5)
    expected = [[0, T, H, H, 0], [T, 0, T, H, 0], [H, T, 0, 0, 0], [H, H, 0, 0, 0], [0] * 5]
    np.testing.assert_allclose(g.toarray(), expected, rtol=1e-7)


def test_duplicates_do_not_inflate_counts():
    # Two users share items 0 and 1; repeating the pairs changes nothing.
    once = cooccurrence_graph([0, 0, 1, 1], [0, 1, 0, 1], 2, 2, k=1)
    many = cooccurrence_graph([0, 0, 0, 1, 1, 1, 1], [0, 1, 1, 0, 1, 0, 1], 2, 2, k=1)
    np.testing.assert_array_equal(many.toarray(), once.toarray())
    assert once[0, 1] == np.float32(2 / 3)


def _reference(users, items, n_users, n_items, k):
    r = np.zeros((n_users, n_items), dtype=np.int64)
    r[users, items] = 1
    c = r.T @ r
    np.fill_diagonal(c, 0)
    out = np.zeros((n_items, n_items), dtype=np.float32)
    for i in range(n_items):
        cand = [j for j in range(n_items) if c[i, j] > 0]
        for j in sorted(cand, key=lambda j: (-c[i, j], j))[:k]:
            out[i, j] = c[i, j] / (1 + c[i, j])
    return out


def test_random_against_dense_reference_and_chunk_invariance():
    rng = np.random.default_rng(0)
    n_users, n_items = 30, 25
    users = rng.integers(0, n_users, 300)
    items = rng.integers(0, n_items, 300)
    expected = _reference(users, items, n_users, n_items, k=3)
    results = [
        cooccurrence_graph(users, items, n_users, n_items, k=3, chunk_size=cs, ties="lowest_id")
        for cs in (1, 2, 7, 1000)
    ]
    np.testing.assert_array_equal(results[0].toarray(), expected)
    hashed = [cooccurrence_graph(users, items, n_users, n_items, k=3, chunk_size=cs).toarray() for cs in (1, 7, 1000)]
    assert all((h == hashed[0]).all() for h in hashed)  # the hash rule does not depend on chunks either
    # the same counts are kept, only which of the tied items differs
    np.testing.assert_array_equal(np.sort(hashed[0], axis=1), np.sort(expected, axis=1))
    for g in results[1:]:
        np.testing.assert_array_equal(g.indptr, results[0].indptr)
        np.testing.assert_array_equal(g.indices, results[0].indices)
        np.testing.assert_array_equal(g.data, results[0].data)


def test_validation():
    with pytest.raises(ValueError, match="k must be"):
        cooccurrence_graph(USERS, ITEMS, 3, 4, k=0)
    with pytest.raises(ValueError, match="chunk_size"):
        cooccurrence_graph(USERS, ITEMS, 3, 4, chunk_size=0)
    with pytest.raises(ValueError, match="items ids"):
        cooccurrence_graph(USERS, ITEMS, 3, 3)
    with pytest.raises(ValueError, match="differ in length"):
        cooccurrence_graph(USERS, ITEMS[:-1], 3, 4)
    empty = cooccurrence_graph([], [], 0, 0)
    assert empty.shape == (0, 0)
