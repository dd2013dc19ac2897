import numpy as np
import pytest

from siger_kedro.data.split import mmrec_split, split_counts

# Hand-computed (train, valid, test) per the split rule in docs/protocol.md:
#   n=1  -> kept in train (our choice)             1 / 0 / 0
#   n=2  -> n-2, 1, 1                               0 / 1 / 1
#   n=5  -> n-2, 1, 1                               3 / 1 / 1
#   n=9  -> n-2, 1, 1                               7 / 1 / 1
#   n=10 -> h=floor(2.0)=2, valid 1, test 1         8 / 1 / 1
#   n=11 -> h=floor(2.2)=2, valid 1, test 1         9 / 1 / 1
#   n=23 -> h=floor(4.6)=4, valid 2, test 2        19 / 2 / 2
EXPECTED = {1: (1, 0, 0), 2: (0, 1, 1), 5: (3, 1, 1), 9: (7, 1, 1),
            10: (8, 1, 1), 11: (9, 1, 1), 23: (19, 2, 2)}


def _users() -> np.ndarray:
    # Users interleaved (not grouped) so the split must group them itself.
    users = np.concatenate([np.full(n, u) for u, n in enumerate(EXPECTED)])
    return users[np.random.default_rng(7).permutation(len(users))]


@pytest.mark.parametrize("n", list(EXPECTED))
def test_split_counts_formula(n):
    train, valid, test = split_counts(np.array([n]))
    assert (train[0], valid[0], test[0]) == EXPECTED[n]


def test_split_counts_per_user():
    users = _users()
    split = mmrec_split(users, seed=2024)
    assert split.dtype == np.int8 and len(split) == len(users)
    for u, n in enumerate(EXPECTED):
        s = split[users == u]
        assert tuple(int((s == k).sum()) for k in (0, 1, 2)) == EXPECTED[n]


def test_split_deterministic_under_seed_and_changes_with_seed():
    users = _users()
    a, b = mmrec_split(users, seed=1), mmrec_split(users, seed=1)
    assert np.array_equal(a, b)
    c = mmrec_split(users, seed=2)
    assert not np.array_equal(a, c)
    # Another seed changes which rows are held out, never how many.
    for u in range(len(EXPECTED)):
        assert np.array_equal(np.bincount(a[users == u], minlength=3), np.bincount(c[users == u], minlength=3))


def test_split_works_on_string_user_ids():
    users = np.array(["b"] * 10 + ["a"] * 3)
    split = mmrec_split(users, seed=0)
    assert np.bincount(split[:10], minlength=3).tolist() == [8, 1, 1]
    assert np.bincount(split[10:], minlength=3).tolist() == [1, 1, 1]


def test_cold_start_split_empties_the_cold_items_training_rows_and_keeps_the_rest():
    from siger_kedro.data.split import TEST, TRAIN, VALID, cold_start_split

    rng = np.random.default_rng(0)
    items = rng.integers(0, 50, 2000)
    split = rng.choice([TRAIN, VALID, TEST], size=2000, p=[0.8, 0.1, 0.1]).astype(np.int8)
    new, cold = cold_start_split(items, split, fraction=0.2, seed=3)
    assert len(cold) == 10 and np.array_equal(cold, np.unique(cold))
    is_cold = np.isin(items, cold)
    assert not np.any(new[is_cold] == TRAIN)  # no cold item keeps a training row
    assert np.array_equal(new[~is_cold], split[~is_cold])  # warm rows untouched
    for item in cold:  # each cold item's rows: half valid (rounded down), the rest test
        rows = new[items == item]
        assert (rows == VALID).sum() == len(rows) // 2 and (rows == TEST).sum() == len(rows) - len(rows) // 2
    again, cold_again = cold_start_split(items, split, fraction=0.2, seed=3)
    assert np.array_equal(again, new) and np.array_equal(cold_again, cold)  # seeded
    assert not np.array_equal(cold_start_split(items, split, 0.2, seed=4)[1], cold)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        cold_start_split(items, split, fraction=1.0, seed=3)


def test_held_out_restricted_to_cold_items():
    import scipy.sparse as sp

    from siger_kedro.data.split import restricted_to_items

    held = sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 0]], dtype=np.float32))
    cold = restricted_to_items(held, np.array([2]))
    assert cold.shape == (2, 3) and cold.toarray().tolist() == [[0, 0, 1], [0, 0, 0]]
