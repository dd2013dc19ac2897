import math

import numpy as np
import pytest
import scipy.sparse as sp

from siger_kedro.graphs import knn_graph

# Multi-hot rows: 0 and 1 are identical, 4 has zero norm.
X = np.array([[1, 1, 0], [1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0]], dtype=np.float32)
# H = (1 + cos) / 2:
#   cos(x0, x1) = 1              -> H = 1
#   cos(x0, x2) = 1/sqrt(2)      -> H = (1 + 1/sqrt(2)) / 2 ~ 0.853553
#   cos(x3, x0..x2) = 0          -> H = 0.5
#   x4 has zero norm: cos 0 with everything, itself included -> H = 0.5
Q = (1 + 1 / math.sqrt(2)) / 2


def _assert_canonical(g, n):
    assert isinstance(g, sp.csr_matrix)
    assert g.shape == (n, n) and g.dtype == np.float32
    assert g.has_sorted_indices and np.all(g.data != 0) and np.all(np.isfinite(g.data))


def test_k1_keeps_the_item_itself_even_against_an_identical_item():
    g = knn_graph(X, k=1)
    _assert_canonical(g, 5)
    assert g.indices.tolist() == [0, 1, 2, 3, 4]  # row 1 ties item 0 (H = 1), but keeps itself
    np.testing.assert_allclose(g.data, [1, 1, 1, 1, 0.5], rtol=1e-6)
    # the former rule (no pinning, ties to the lower id) dropped it: item 0 won row 1 and 4
    old = knn_graph(X, k=1, ties="lowest_id", keep_self=False)
    assert old.indices.tolist() == [0, 0, 2, 3, 0]


def test_every_row_keeps_itself_in_a_large_tie_group_and_the_group_spreads():
    x = np.tile([[1.0, 0.0, 1.0]], (300, 1))  # 300 identical items, like one genre combination
    g = knn_graph(x, k=10)
    assert (g.diagonal() == 1).all() and (np.diff(g.indptr) == 10).all()
    assert np.bincount(g.indices, minlength=300).max() <= 30
    old = knn_graph(x, k=10, ties="lowest_id", keep_self=False)
    assert np.bincount(old.indices, minlength=300).max() == 300 and (old.diagonal() == 0).sum() == 290


def test_k2_and_k3_hand_example():
    expected2 = [
        [1, 1, 0, 0, 0],  # self + identical row
        [1, 1, 0, 0, 0],
        [Q, 0, 1, 0, 0],  # self, then tie Q at items 0 and 1 -> 0
        [0.5, 0, 0, 1, 0],  # self, then four-way tie 0.5 -> item 0
        [0.5, 0.5, 0, 0, 0],  # zero row: all 0.5 -> items 0, 1
    ]
    expected3 = [
        [1, 1, Q, 0, 0],
        [1, 1, Q, 0, 0],
        [Q, Q, 1, 0, 0],
        [0.5, 0.5, 0, 1, 0],
        [0.5, 0.5, 0.5, 0, 0],
    ]
    for k, expected in ((2, expected2), (3, expected3)):
        g = knn_graph(X, k=k, ties="lowest_id", keep_self=False)  # the hand example's rule
        _assert_canonical(g, 5)
        assert np.diff(g.indptr).tolist() == [k] * 5
        np.testing.assert_allclose(g.toarray(), expected, rtol=1e-6)


def test_self_loop_kept_and_k_beyond_n():
    g = knn_graph(np.eye(3) + 0.1, k=10)  # k > n: every item kept
    assert g.nnz == 9
    np.testing.assert_allclose(g.diagonal(), 1.0, rtol=1e-6)


def test_values_within_unit_interval():
    # Rounding can push cos past 1; it is clipped so H stays in [0, 1].
    rng = np.random.default_rng(2)
    g = knn_graph(rng.normal(size=(200, 7)) * rng.random((200, 1)) * 50, k=3)
    assert g.data.max() <= 1.0 and g.data.min() > 0.0
    np.testing.assert_allclose(g.diagonal(), 1.0, rtol=1e-6)  # self is always kept


def test_opposite_vectors_give_no_explicit_zero():
    g = knn_graph([[1.0, 0.0], [-2.0, 0.0]], k=2)  # cos = -1 -> H = 0, not stored
    _assert_canonical(g, 2)
    np.testing.assert_allclose(g.toarray(), np.eye(2), rtol=1e-6)


def test_scale_invariance_and_huge_values():
    g = knn_graph(X, k=3)
    np.testing.assert_array_equal(knn_graph(X * 1e30, k=3).toarray(), g.toarray())
    np.testing.assert_array_equal(knn_graph(X.astype(np.float64) * 1e300, k=3).toarray(), g.toarray())
    np.testing.assert_array_equal(knn_graph(X.astype(bool), k=3).toarray(), g.toarray())
    np.testing.assert_array_equal(knn_graph(sp.csr_matrix(X), k=3).toarray(), g.toarray())


def test_chunk_size_invariance():
    rng = np.random.default_rng(0)
    multi_hot = (rng.random((40, 6)) < 0.3).astype(np.float32)  # many exact ties
    ref = knn_graph(multi_hot, k=4, chunk_size=1)
    for cs in (2, 7, 1000, None):
        g = knn_graph(multi_hot, k=4, chunk_size=cs)
        np.testing.assert_array_equal(g.indptr, ref.indptr)
        np.testing.assert_array_equal(g.indices, ref.indices)
        np.testing.assert_array_equal(g.data, ref.data)

    dense = rng.normal(size=(40, 8))
    ref = knn_graph(dense, k=4, chunk_size=1)
    for cs in (2, 7, 1000):
        g = knn_graph(dense, k=4, chunk_size=cs)
        np.testing.assert_array_equal(g.indices, ref.indices)
        np.testing.assert_allclose(g.data, ref.data, rtol=1e-6)


def test_brute_force_reference():
    rng = np.random.default_rng(1)
    x = rng.integers(-1, 2, size=(30, 5)).astype(np.float64)  # ties and zero rows
    norms = np.linalg.norm(x, axis=1)
    unit = x / np.where(norms > 0, norms, 1)[:, None]
    h = (1 + np.clip(unit @ unit.T, -1, 1)) / 2
    expected = np.zeros_like(h)
    for i in range(30):
        # Round away float noise so exact ties stay ties in the reference too.
        best = sorted(range(30), key=lambda j: (-round(h[i, j], 9), j))[:3]
        expected[i, best] = h[i, best]
    np.testing.assert_allclose(knn_graph(x, k=3, ties="lowest_id", keep_self=False).toarray(), expected,
                               rtol=1e-6, atol=1e-7)


def test_validation():
    with pytest.raises(ValueError, match="2-D"):
        knn_graph(np.ones(4))
    with pytest.raises(ValueError, match="NaN or infinite"):
        knn_graph([[1.0, np.nan], [0.0, 1.0]])
    with pytest.raises(ValueError, match="NaN or infinite"):
        knn_graph([[1.0, np.inf], [0.0, 1.0]])
    with pytest.raises(ValueError, match="numeric"):
        knn_graph([["a", "b"]])
    with pytest.raises(ValueError, match="k must be"):
        knn_graph(X, k=0)
    with pytest.raises(ValueError, match="chunk_size"):
        knn_graph(X, chunk_size=0)
    assert knn_graph(np.zeros((0, 4))).shape == (0, 0)
