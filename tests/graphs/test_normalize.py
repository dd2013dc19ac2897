import math

import numpy as np
import pytest
import scipy.sparse as sp

from siger_kedro.graphs import (
    interaction_matrix,
    mix_graphs,
    normalize_bipartite,
    normalize_square,
    ui_adjacency,
)


def _assert_canonical(m):
    assert isinstance(m, sp.csr_matrix)
    assert m.dtype == np.float32
    assert m.has_sorted_indices
    assert np.all(m.data != 0) and np.all(np.isfinite(m.data))


def test_interaction_matrix_collapses_duplicates():
    r = interaction_matrix([0, 0, 1, 0, 2], [1, 1, 0, 3, 3], n_users=4, n_items=5)
    _assert_canonical(r)
    assert r.shape == (4, 5)
    expected = np.zeros((4, 5))
    expected[0, 1] = expected[1, 0] = expected[0, 3] = expected[2, 3] = 1  # (0,1) twice -> 1
    np.testing.assert_array_equal(r.toarray(), expected)


def test_interaction_matrix_validation():
    with pytest.raises(ValueError, match="differ in length"):
        interaction_matrix([0, 1], [0], 2, 2)
    with pytest.raises(ValueError, match=r"items ids must lie in \[0, 2\)"):
        interaction_matrix([0, 1], [0, 2], 2, 2)
    with pytest.raises(ValueError, match="users ids"):
        interaction_matrix([-1, 1], [0, 1], 2, 2)
    with pytest.raises(ValueError, match="integer ids"):
        interaction_matrix([0.0, 1.0], [0, 1], 2, 2)
    with pytest.raises(ValueError, match="1-D"):
        interaction_matrix([[0, 1]], [[0, 1]], 2, 2)
    assert interaction_matrix([], [], 2, 3).nnz == 0


def test_normalize_square_asymmetric_uses_row_sums_for_columns_too():
    # The co-occurrence example of test_cooccurrence (k=2): row sums
    # d = [2/3 + 1/2, 2/3 + 2/3, 1/2 + 2/3, 1/2 + 1/2] = [7/6, 4/3, 7/6, 1].
    h, t = 0.5, 2 / 3
    m = sp.csr_matrix(
        [[0, t, h, 0], [t, 0, t, 0], [h, t, 0, 0], [h, h, 0, 0]], dtype=np.float32
    )
    out = normalize_square(m)
    _assert_canonical(out)
    a = 2 / math.sqrt(14)  # (2/3) / sqrt(7/6 * 4/3) = (2/3) / (sqrt(14)/3)
    b = 3 / 7  # (1/2) / sqrt(7/6 * 7/6)
    c = math.sqrt(6 / 7) / 2  # (1/2) / sqrt(1 * 7/6); column 0 uses d_0 = 7/6
    d = math.sqrt(3) / 4  # (1/2) / sqrt(1 * 4/3); column 1 uses d_1 = 4/3
    expected = [[0, a, b, 0], [a, 0, a, 0], [b, a, 0, 0], [c, d, 0, 0]]
    np.testing.assert_allclose(out.toarray(), expected, rtol=1e-6)
    # Not symmetric: item 3 points at 0 and 1 but nothing points at 3.
    assert out[3, 0] != 0 and out[0, 3] == 0


def test_normalize_square_zero_degree():
    # d = [1 + 3, 0]: row 1 is empty, and column 1 has zero degree, so the
    # entry (0, 1) = 3 / sqrt(4 * 0) becomes 0 rather than inf.
    out = normalize_square(sp.csr_matrix([[1.0, 3.0], [0.0, 0.0]]))
    _assert_canonical(out)
    np.testing.assert_array_equal(out.toarray(), [[0.25, 0.0], [0.0, 0.0]])  # 1 / sqrt(4*4)
    assert out.nnz == 1

    # d = [2, 2, 0]: out_ij = m_ij / sqrt(d_i d_j), zero row stays zero.
    out = normalize_square(sp.csr_matrix([[0, 2, 0], [1, 1, 0], [0, 0, 0]], dtype=np.float32))
    np.testing.assert_array_equal(out.toarray(), [[0, 1, 0], [0.5, 0.5, 0], [0, 0, 0]])

    with pytest.raises(ValueError, match="square"):
        normalize_square(sp.csr_matrix(np.ones((2, 3))))


R = sp.csr_matrix([[1, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=np.float32)  # user 2, item 2 empty


def test_normalize_bipartite():
    # d_u = [2, 1, 0], d_i = [2, 1, 0]
    out = normalize_bipartite(R)
    _assert_canonical(out)
    s = 1 / math.sqrt(2)
    expected = [[1 / 2, s, 0], [s, 0, 0], [0, 0, 0]]  # 1/sqrt(2*2), 1/sqrt(2*1), 1/sqrt(1*2)
    np.testing.assert_allclose(out.toarray(), expected, rtol=1e-6)


def test_ui_adjacency_blocks_and_symmetry():
    a = ui_adjacency(R)
    _assert_canonical(a)
    assert a.shape == (6, 6)
    nr = normalize_bipartite(R).toarray()
    dense = a.toarray()
    np.testing.assert_array_equal(dense[:3, 3:], nr)
    np.testing.assert_array_equal(dense[3:, :3], nr.T)
    assert not dense[:3, :3].any() and not dense[3:, 3:].any()
    np.testing.assert_array_equal(dense, dense.T)
    assert dense[0, 3 + 1] == pytest.approx(1 / math.sqrt(2))

    # Same as normalising the full block matrix by its own degrees.
    full = sp.bmat([[None, R], [R.T, None]]).toarray()
    deg = full.sum(axis=1)
    inv = np.where(deg > 0, 1 / np.sqrt(np.where(deg > 0, deg, 1)), 0)
    np.testing.assert_allclose(dense, inv[:, None] * full * inv[None, :], rtol=1e-6)


C = sp.csr_matrix([[0, 1.0], [0.5, 0]], dtype=np.float32)
H = sp.csr_matrix([[0.2, 0.4], [0, 0]], dtype=np.float32)


def test_mix_graphs():
    out = mix_graphs(C, H, 0.25)
    _assert_canonical(out)
    # 0.25*C + 0.75*H = [[0.15, 0.25 + 0.3], [0.125, 0]]
    np.testing.assert_allclose(out.toarray(), [[0.15, 0.55], [0.125, 0]], rtol=1e-6)
    only_c = mix_graphs(C, H, 1.0)
    np.testing.assert_array_equal(only_c.toarray(), C.toarray())
    assert only_c.nnz == 2  # H's entries scaled by 0 are not stored
    np.testing.assert_array_equal(mix_graphs(C, H, 0).toarray(), H.toarray())
    assert mix_graphs(C, H, 0).nnz == 2


def test_mix_graphs_validation():
    with pytest.raises(ValueError, match=r"\(2, 2\) and \(3, 3\)"):
        mix_graphs(C, sp.csr_matrix((3, 3)), 0.5)
    for beta in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="beta"):
            mix_graphs(C, H, beta)
