"""Item features per modality: the dataset's own `<m>_feat.npy`, else computed from item columns."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ...data.raw import RawDataset
from ...features.multi_hot import multi_hot
from ...features.text import encode_texts, item_texts
from ...features.validate import validate_features

logger = logging.getLogger(__name__)


def _compute(name: str, spec: dict, items: pd.DataFrame) -> np.ndarray:
    kind = spec["kind"]
    if kind == "sentence":
        texts = item_texts(items, spec["template"])
        return encode_texts(texts, model=spec.get("model", "default"), batch_size=spec.get("batch_size", 128))
    if kind == "multi_hot":
        values, vocabulary = multi_hot(items, spec["column"])
        logger.info("modality %s: %d categories", name, len(vocabulary))
        return values
    raise ValueError(f"features.modalities.{name}.kind is {kind!r}; expected 'sentence' or 'multi_hot'")


def extract_features(raw: RawDataset, items: pd.DataFrame, info: dict, params: dict) -> dict[str, np.ndarray]:
    features = dict(raw.features)
    for name, spec in (params.get("modalities") or {}).items():
        if name in features:
            logger.info("modality %s: using the dataset's own %s_feat.npy", name, name)
        elif raw.items is None:
            logger.info("modality %s: skipped, the dataset has no item table to compute it from", name)
        else:
            features[name] = _compute(name, spec, items)
    if not features:
        logger.warning("no item features: SIGER will train on the interaction graph alone")
    return validate_features(features, info["n_items"], raw.source)
