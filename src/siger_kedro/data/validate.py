"""Checks on item feature matrices before any model sees them."""
from __future__ import annotations

import numpy as np

from .errors import DataFormatError


def validate_features(
    features: dict[str, np.ndarray], n_items: int | None, source: str
) -> dict[str, np.ndarray]:
    """Return the features as float32 arrays, sorted by modality name.

    Each must be 2-D (items × dim), have `n_items` rows (skipped when None) and be finite;
    errors name `<source>/<modality>_feat.npy`.
    """
    out = {}
    for name in sorted(features):
        path = f"{source}/{name}_feat.npy"
        array = np.asarray(features[name])
        if array.ndim != 2:
            raise DataFormatError(
                f"{path} has shape {array.shape}; expected a 2-D array (items × feature dim)"
            )
        if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
            raise DataFormatError(f"{path} has dtype {array.dtype}; expected real numbers (float32)")
        if n_items is not None and array.shape[0] != n_items:
            raise DataFormatError(
                f"{path} has {array.shape[0]} rows but the dataset has {n_items} items "
                "(max itemID + 1); expected one row per item"
            )
        # Cast first: float64 values beyond float32's range become Inf, reported below.
        with np.errstate(over="ignore"):
            array = array.astype(np.float32, copy=False)
        bad_rows = np.flatnonzero(~np.isfinite(array).all(axis=1))
        if len(bad_rows):
            n_bad = int((~np.isfinite(array)).sum())
            first = ", ".join(map(str, bad_rows[:5]))
            raise DataFormatError(
                f"{path} has {n_bad} NaN or Inf values in {len(bad_rows)} rows (first rows: "
                f"{first}); expected finite features"
            )
        out[name] = array
    return out
