"""Item features per modality: the dataset's own arrays, else computed from item columns."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ...data.dataset import RawDataset
from ...data.validate import validate_features
from ...features.image import encode_images
from ...features.multi_hot import multi_hot
from ...features.text import encode_texts, item_texts

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
    if kind == "image":
        paths = [p or None for p in items[spec["column"]].fillna("").astype(str)]
        values, report = encode_images(paths, model=spec.get("model", "default"),
                                       batch_size=spec.get("batch_size", 32), weights=spec.get("weights"))
        logger.info("modality %s: %d images encoded; %d missing and %d unreadable get the mean vector",
                    name, report.n_encoded, report.n_missing, report.n_corrupt)
        return values
    raise ValueError(f"features.modalities: {name}.kind is {kind!r}; expected sentence, multi_hot or image")


def extract_features(raw: RawDataset, items: pd.DataFrame, info: dict, params: dict) -> dict[str, np.ndarray]:
    features = dict(raw.features)
    specs = (params.get("modalities") or {}).get(raw.format) or {}
    for name, spec in specs.items():
        if name in features:
            logger.info("modality %s: using the dataset's own features", name)
        elif raw.items is None:
            logger.info("modality %s: skipped, the dataset has no item table to compute it from", name)
        else:
            features[name] = _compute(name, spec, items)
    if not features:
        logger.warning("no item features: SIGER will train on the interaction graph alone")
    return validate_features(features, info["n_items"], raw.source)
