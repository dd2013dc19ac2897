"""Raw dataset -> re-indexed interactions with the MMRec split."""
from __future__ import annotations

import pandas as pd

from ...data.prepare import align_items, prepare_interactions
from ...data.raw import RawDataset


def prepare_dataset(raw: RawDataset, params: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    interactions, user_ids, item_ids, info = prepare_interactions(raw, seed=params["split_seed"])
    if raw.items is not None:
        items = align_items(raw.items, item_ids)
    else:
        items = pd.DataFrame({"item": range(info["n_items"])})
    return interactions, user_ids, item_ids, items, info
