"""Bundle the prepared dataset for the MMRec writer (the catalog's MmrecExportDataset)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def bundle_for_mmrec(
    interactions: pd.DataFrame, user_ids: pd.DataFrame, item_ids: pd.DataFrame, features: dict[str, np.ndarray]
) -> dict:
    return {"interactions": interactions, "user_ids": user_ids, "item_ids": item_ids, "features": features}
