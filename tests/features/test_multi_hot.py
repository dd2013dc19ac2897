import numpy as np
import pandas as pd

from siger_kedro.features.multi_hot import multi_hot


def test_multi_hot_values():
    items = pd.DataFrame({"class": ["Comedy Drama", "Action", np.nan, "Drama  Action"]})
    matrix, vocabulary = multi_hot(items, "class")
    assert vocabulary == ["Action", "Comedy", "Drama"]
    assert matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, [[0, 1, 1], [1, 0, 0], [0, 0, 0], [1, 0, 1]])


def test_multi_hot_separator():
    matrix, vocabulary = multi_hot(pd.DataFrame({"g": ["a|b", "b"]}), "g", sep="|")
    assert vocabulary == ["a", "b"]
    np.testing.assert_array_equal(matrix, [[1, 1], [0, 1]])
