import numpy as np
import pytest

from siger_kedro.data.errors import DataFormatError
from siger_kedro.data.validate import validate_features


def test_casts_to_float32_and_sorts():
    out = validate_features({"text": np.ones((3, 2)), "image": np.zeros((3, 4), np.float32)}, 3, "d")
    assert list(out) == ["image", "text"] and out["text"].dtype == np.float32


def test_rejects_non_2d():
    with pytest.raises(DataFormatError, match=r"d/text_feat\.npy has shape \(3,\); expected a 2-D array"):
        validate_features({"text": np.ones(3)}, 3, "d")


def test_overflow_to_inf_is_caught():
    with pytest.raises(DataFormatError, match="NaN or Inf"):
        validate_features({"text": np.full((2, 2), 1e300)}, 2, "d")
