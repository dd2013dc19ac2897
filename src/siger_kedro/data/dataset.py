"""One raw dataset as a reader returns it: the type every reader in `data/` produces."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class RawDataset:
    """One dataset as found on disk, before re-indexing and splitting.

    `interactions` has `user`, `item` (strings for atomic, ints for MMRec), float `timestamp`
    (NaN if absent) and, for MMRec, the int8 `split` from x_label. `items` is the atomic `.item`
    table (column `item` + metadata). `features` maps modality -> float32 array from
    `<modality>_feat.npy`. `user_ids`/`item_ids` are MMRec's mapping files as
    `[original, user]` / `[original, item]` when present.
    """

    name: str
    source: str
    format: str  # "mmrec" | "atomic" | "amazon" | "microlens"
    interactions: pd.DataFrame
    items: pd.DataFrame | None = None
    features: dict[str, np.ndarray] = field(default_factory=dict)
    user_ids: pd.DataFrame | None = None
    item_ids: pd.DataFrame | None = None
