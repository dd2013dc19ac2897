import numpy as np
import pytest
import scipy.sparse as sp

from siger_kedro.graphs import stack_rows, topk_rows
from siger_kedro.graphs.topk import _tie_key


def _reference(dense, k, stored=None):
    """Row by row: sort candidates by (value desc, column asc), keep k, drop zeros."""
    out = np.zeros_like(dense)
    for i, row in enumerate(dense):
        cols = range(len(row)) if stored is None else np.flatnonzero(stored[i])
        best = sorted(cols, key=lambda j: (-row[j], j))[:k]
        out[i, best] = row[best]
    return out


def _assert_canonical(m):
    assert isinstance(m, sp.csr_matrix)
    assert m.has_sorted_indices
    assert np.all(m.data != 0)
    for i in range(m.shape[0]):
        cols = m.indices[m.indptr[i] : m.indptr[i + 1]]
        assert np.all(np.diff(cols) > 0)


VALUES = np.array(
    [
        [0.5, 0.9, 0.5, 0.5, 0.1],  # 0.9 first, then two of three 0.5 ties: cols 0, 2
        [0.3, 0.3, 0.3, 0.3, 0.3],  # all tied: lowest columns 0, 1, 2
        [0.0, 0.0, 0.7, 0.0, 0.2],  # 0.7, 0.2, then a 0 that is not stored
        [0.1, 0.2, 0.4, 0.4, 0.4],  # three-way tie for all 3 places: cols 2, 3, 4
    ],
    dtype=np.float32,
)
EXPECTED_K3 = np.array(
    [
        [0.5, 0.9, 0.5, 0.0, 0.0],
        [0.3, 0.3, 0.3, 0.0, 0.0],
        [0.0, 0.0, 0.7, 0.0, 0.2],
        [0.0, 0.0, 0.4, 0.4, 0.4],
    ],
    dtype=np.float32,
)


def test_dense_hand_example_ties_go_to_lower_column_under_the_lowest_id_rule():
    out = topk_rows(VALUES, 3, ties="lowest_id")
    _assert_canonical(out)
    np.testing.assert_array_equal(out.toarray(), EXPECTED_K3)
    assert out.dtype == np.float32
    assert np.diff(out.indptr).tolist() == [3, 3, 2, 3]


def test_sparse_hand_example_matches_dense():
    out = topk_rows(sp.csr_matrix(VALUES), 3, ties="lowest_id")
    _assert_canonical(out)
    np.testing.assert_array_equal(out.toarray(), EXPECTED_K3)


def test_k1_and_k_beyond_row_length():
    expected = np.zeros_like(VALUES)
    expected[[0, 1, 2, 3], [1, 0, 2, 2]] = [0.9, 0.3, 0.7, 0.4]  # ties -> lowest column
    np.testing.assert_array_equal(topk_rows(VALUES, 1, ties="lowest_id").toarray(), expected)
    np.testing.assert_array_equal(topk_rows(sp.csr_matrix(VALUES), 1, ties="lowest_id").toarray(), expected)
    # k larger than the row: every non-zero value is kept, from either flavour.
    np.testing.assert_array_equal(topk_rows(VALUES, 50).toarray(), VALUES)
    np.testing.assert_array_equal(topk_rows(sp.csr_matrix(VALUES), 50).toarray(), VALUES)


def test_sparse_rows_with_few_candidates_and_unsorted_input():
    # Row 0 stores columns (3, 1, 0) out of order, value 2 tied at 1 and 3.
    m = sp.csr_matrix(
        (np.array([2, 5, 2, 7]), np.array([3, 1, 0, 2]), np.array([0, 3, 3, 4])), shape=(3, 4)
    )
    out = topk_rows(m, 2, ties="lowest_id")
    _assert_canonical(out)
    # Row 0 keeps 5 and the tie winner at column 0; row 1 is empty; row 2 has one.
    np.testing.assert_array_equal(out.toarray(), [[2, 5, 0, 0], [0, 0, 0, 0], [0, 0, 7, 0]])
    assert out.dtype == m.dtype


def test_negative_values_dense_includes_zero_as_candidate():
    dense = np.array([[-1.0, -2.0, -3.0], [-1.0, 0.0, -1.0]])
    out = topk_rows(dense, 2, ties="lowest_id")
    # Row 1: 0 beats -1 but is dropped as an explicit zero; -1 tie goes to col 0.
    np.testing.assert_array_equal(out.toarray(), [[-1.0, -2.0, 0.0], [-1.0, 0.0, 0.0]])
    assert out.nnz == 3


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_random_ties_match_reference(k):
    rng = np.random.default_rng(k)
    dense = rng.integers(0, 4, size=(40, 12)).astype(np.float32)  # heavy ties, many zeros
    expected = _reference(dense, k)
    np.testing.assert_array_equal(topk_rows(dense, k, ties="lowest_id").toarray(), expected)

    shifted = dense - 2  # values -2..1, zeros not stored
    stored = shifted != 0  # sparse flavour: only stored entries compete
    sparse_out = topk_rows(sp.csr_matrix(shifted), k, ties="lowest_id")
    _assert_canonical(sparse_out)
    np.testing.assert_array_equal(sparse_out.toarray(), _reference(shifted, k, stored))


def test_unsigned_values():
    out = topk_rows(sp.csr_matrix(np.array([[1, 3, 3]], dtype=np.uint8)), 1, ties="lowest_id")
    np.testing.assert_array_equal(out.toarray(), [[0, 3, 0]])


def test_invalid_k_and_shape():
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="k must be"):
            topk_rows(VALUES, bad)
    with pytest.raises(ValueError, match="2-D"):
        topk_rows(np.ones(3), 1)


def test_stack_rows():
    a, b = sp.csr_matrix([[0, 1.0]]), sp.csr_matrix([[2.0, 0], [0, 3.0]])
    out = stack_rows([a, b], 2)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.toarray(), [[0, 1], [2, 0], [0, 3]])
    empty = stack_rows([], 5)
    assert empty.shape == (0, 5) and empty.dtype == np.float32


def _hash_reference(dense, k, pinned=None):
    """Row by row: the pinned column first (unless 0: no edge), then (value desc, hash asc)."""
    out = np.zeros_like(dense)
    for i, row in enumerate(dense):
        first = pinned[i] if pinned is not None and row[pinned[i]] != 0 else -1
        key = lambda j: (j != first, -row[j],  # noqa: E731
                         int(_tie_key(np.array([i]), np.array([j]))[0]))
        best = sorted(range(len(row)), key=key)[:k]
        out[i, best] = row[best]
    return out


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_hash_ties_match_reference_and_do_not_depend_on_chunks(k):
    rng = np.random.default_rng(k)
    dense = rng.integers(0, 4, size=(40, 12)).astype(np.float32)
    pinned = rng.integers(0, 12, size=40)
    expected = _hash_reference(dense, k, pinned)
    np.testing.assert_array_equal(topk_rows(dense, k, pinned=pinned).toarray(), expected)
    np.testing.assert_array_equal(topk_rows(sp.csr_matrix(dense), k, pinned=pinned).toarray(), expected)
    chunks = [topk_rows(dense[a:b], k, row_ids=np.arange(a, b), pinned=pinned[a:b]) for a, b in ((0, 7), (7, 40))]
    np.testing.assert_array_equal(stack_rows(chunks, 12).toarray(), expected)


def test_hash_ties_spread_a_tied_group_instead_of_picking_its_lowest_ids():
    tied = np.ones((1000, 1000), dtype=np.float32)  # every row: all columns equal
    lowest = np.bincount(topk_rows(tied, 10, ties="lowest_id").indices, minlength=1000)
    spread = np.bincount(topk_rows(tied, 10).indices, minlength=1000)
    assert lowest.max() == 1000 and (lowest > 0).sum() == 10  # ten hubs, every row points at them
    assert spread.max() <= 30 and (spread > 0).sum() > 990  # about 10 in-edges each


def test_a_pinned_column_is_kept_even_below_the_others():
    values = np.array([[0.9, 0.1, 0.8, 0.7]], dtype=np.float32)
    assert sorted(topk_rows(values, 2, pinned=[1]).indices) == [0, 1]
    assert sorted(topk_rows(values, 2, pinned=[-1]).indices) == [0, 2]
