"""Multi-hot item features from a token-list column (e.g. MovieLens genres)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def multi_hot(items: pd.DataFrame, column: str, sep: str = " ") -> tuple[np.ndarray, list[str]]:
    """One float32 row per item with 1 for each token of `items[column]` (split on `sep`);
    the vocabulary is sorted so columns do not depend on item order. Missing values give a
    zero row."""
    tokens = [
        [t for t in str(v).split(sep) if t] if isinstance(v, str) or pd.notna(v) else []
        for v in items[column].tolist()
    ]
    vocabulary = sorted({t for row in tokens for t in row})
    index = {t: j for j, t in enumerate(vocabulary)}
    matrix = np.zeros((len(tokens), len(vocabulary)), dtype=np.float32)
    rows = np.repeat(np.arange(len(tokens)), [len(row) for row in tokens])
    cols = np.fromiter((index[t] for row in tokens for t in row), dtype=np.int64, count=len(rows))
    matrix[rows, cols] = 1.0
    return matrix, vocabulary
