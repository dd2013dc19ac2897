"""Raw dataset -> re-indexed interactions with the MMRec split."""
from __future__ import annotations

import pandas as pd

from ...data.dataset import RawDataset
from ...data.prepare import align_items, prepare_interactions


def prepare_dataset(raw: RawDataset, params: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Interactions `[user, item, split, timestamp]`, the user and item id maps, the item table
    in the new item order, and the dataset's counts and fingerprint."""
    interactions, user_ids, item_ids, info = prepare_interactions(raw, seed=params["split_seed"])
    return interactions, user_ids, item_ids, align_items(raw.items, item_ids), info
