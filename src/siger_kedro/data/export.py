"""Writer for the MMRec format (docs/data-formats.md), the inverse of `mmrec.py`'s reader: a prepared
dataset exported here reads back with `read_raw_folder` + `prepare_interactions` unchanged."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..storage import atomic_path

INTER_HEADER = ("userID", "itemID", "rating", "timestamp", "x_label")
# MMRec's own headers; `read_id_mapping` finds the integer column by these names.
USER_MAP_HEADER = ("user_id", "userID")
ITEM_MAP_HEADER = ("asin", "itemID")
FEATURE_SUFFIX = "_feat.npy"


def _format_timestamps(timestamp: np.ndarray) -> list[str]:
    """Whole numbers as integers (the usual unix seconds / ms), others as Python's shortest
    float text; a missing timestamp (NaN) becomes 0 because MMRec has no empty value."""
    ts = np.asarray(timestamp, dtype=np.float64)
    ts = np.where(np.isnan(ts), 0.0, ts)
    whole = np.isfinite(ts) & (ts == np.floor(ts)) & (np.abs(ts) < 2.0**63)
    return [str(int(t)) if w else repr(float(t)) for t, w in zip(ts.tolist(), whole.tolist())]


def _check_mapping(mapping: pd.DataFrame, column: str) -> pd.DataFrame:
    """The mapping sorted by id, which must be exactly 0..n-1 (MMRec ids are contiguous)."""
    missing = {"original", column} - set(mapping.columns)
    if missing:
        raise ValueError(f"{column} id map lacks columns {sorted(missing)}; expected [original, {column}]")
    mapping = mapping.sort_values(column, kind="stable")
    ids = mapping[column].to_numpy(np.int64)
    if not np.array_equal(ids, np.arange(len(ids))):
        raise ValueError(f"{column} id map ids are not 0..{len(ids) - 1} without gaps or repeats")
    original = mapping["original"].astype(str)
    # The reader splits on tabs and lines and does not unquote, so these cannot round-trip.
    bad = original.str.contains(r"[\t\r\n]", regex=True)
    if bad.any():
        raise ValueError(f"{column} original id {original[bad].iloc[0]!r} contains a tab or line break")
    return pd.DataFrame({"original": original.to_numpy(), column: ids})


def _write_tsv(path: Path, header: tuple[str, ...], columns: list) -> None:
    lines = ["\t".join(header)] + ["\t".join(map(str, row)) for row in zip(*columns)]
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")


def export_mmrec(
    folder: Path,
    name: str,
    interactions: pd.DataFrame,
    user_ids: pd.DataFrame,
    item_ids: pd.DataFrame,
    features: dict[str, np.ndarray],
) -> None:
    """Write a prepared dataset to `folder` in MMRec format, replacing the folder as a whole.

    `interactions` is `prepare_interactions`' frame `[user, item, split, timestamp]`; its rows
    are written in order with rating 1 (implicit feedback) and x_label = split. `user_ids` /
    `item_ids` are `[original, user]` / `[original, item]`; `features` maps modality -> array
    with one row per item. Raises ValueError, before anything is written, on input that the
    format cannot hold; any failure leaves a previous export in `folder` as it was.
    """
    if not name or "/" in name or "\\" in name:
        raise ValueError(f"dataset name {name!r} must be a non-empty file name")
    missing = {"user", "item", "split"} - set(interactions.columns)
    if missing:
        raise ValueError(f"interactions lack columns {sorted(missing)}; expected [user, item, split, timestamp]")
    users_map = _check_mapping(user_ids, "user")
    items_map = _check_mapping(item_ids, "item")
    n_users, n_items = len(users_map), len(items_map)

    users = interactions["user"].to_numpy(np.int64)
    items = interactions["item"].to_numpy(np.int64)
    split = interactions["split"].to_numpy(np.int64)
    if len(split) and not np.isin(split, (0, 1, 2)).all():
        raise ValueError("interactions split must be 0 (train), 1 (valid) or 2 (test)")
    for ids, n, what in ((users, n_users, "user"), (items, n_items, "item")):
        if len(ids) and (ids.min() < 0 or ids.max() >= n):
            raise ValueError(f"interaction {what} ids must lie in 0..{n - 1} (the {what} id map)")
    # The reader takes n_items = max(itemID) + 1, so a trailing item without interactions
    # would make every feature file one row too long on reading.
    if n_items and (not len(items) or items.max() != n_items - 1):
        raise ValueError(f"item {n_items - 1} has no interaction; MMRec derives n_items from "
                         "max(itemID) + 1 and cannot represent it")

    arrays = {}
    for modality, array in features.items():
        if not modality or "/" in modality or "\\" in modality:
            raise ValueError(f"modality {modality!r} must be a non-empty file name part")
        array = np.asarray(array)
        if array.ndim != 2 or array.shape[0] != n_items:
            raise ValueError(f"features '{modality}' have shape {array.shape}; expected "
                             f"{n_items} rows (one per item) × feature dim")
        arrays[modality] = array.astype(np.float32, copy=False)

    timestamp = (interactions["timestamp"].to_numpy(np.float64) if "timestamp" in interactions.columns
                 else np.zeros(len(interactions)))
    ours = {f"{name}.inter", "u_id_mapping.csv", "i_id_mapping.csv"}
    owned = lambda p: p.is_file() and (p.name in ours or p.name.endswith(FEATURE_SUFFIX))  # noqa: E731
    with atomic_path(folder, is_dir=True, owned=owned) as tmp:
        _write_tsv(tmp / f"{name}.inter", INTER_HEADER,
                   [users.tolist(), items.tolist(), [1] * len(users), _format_timestamps(timestamp),
                    split.tolist()])
        for modality, array in arrays.items():
            np.save(tmp / f"{modality}{FEATURE_SUFFIX}", array, allow_pickle=False)
        _write_tsv(tmp / "u_id_mapping.csv", USER_MAP_HEADER,
                   [users_map["original"].tolist(), users_map["user"].tolist()])
        _write_tsv(tmp / "i_id_mapping.csv", ITEM_MAP_HEADER,
                   [items_map["original"].tolist(), items_map["item"].tolist()])
