"""From a raw dataset to integer-indexed, split interactions (docs/data-formats.md; split rule: docs/protocol.md)."""
from __future__ import annotations

import hashlib
import logging

import numpy as np
import pandas as pd

from .errors import DataFormatError
from .dataset import RawDataset
from .split import TEST, TRAIN, VALID, mmrec_split

logger = logging.getLogger(__name__)

# Formats whose ids are strings to re-index and whose split is still to be drawn.
RAW_RELEASE_FORMATS = ("atomic", "amazon", "microlens")


def _identity_mapping(n: int, column: str) -> pd.DataFrame:
    return pd.DataFrame({"original": np.arange(n).astype(str), column: np.arange(n, dtype=np.int64)})


def _mmrec_mapping(given: pd.DataFrame | None, n: int, column: str) -> pd.DataFrame:
    """The mapping file's rows for ids 0..n-1; ids it does not cover map to themselves."""
    mapping = _identity_mapping(n, column)
    if given is not None:
        known = given[given[column].between(0, n - 1)].drop_duplicates(column)
        mapping.loc[known[column].to_numpy(), "original"] = known["original"].astype(str).to_numpy()
    return mapping


def fingerprint(interactions: pd.DataFrame) -> str:
    """16 hex chars of sha256 over (user, item, split), in fixed little-endian dtypes so every
    machine computes the same value for the same content."""
    h = hashlib.sha256()
    for column, dtype in (("user", "<i8"), ("item", "<i8"), ("split", "i1")):
        h.update(interactions[column].to_numpy().astype(dtype).tobytes())
    return h.hexdigest()[:16]


def prepare_interactions(
    raw: RawDataset, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Integer-indexed interactions with a train/valid/test split.

    Returns (interactions `[user, item, split, timestamp]`, user mapping `[original, user]`,
    item mapping `[original, item]`, info). Atomic data is de-duplicated, re-indexed by first
    appearance and split with `mmrec_split(seed)`; MMRec data keeps its ids and x_label split.
    Either way, valid/test rows of users without a training row are dropped.
    """
    df = raw.interactions
    # A repeated (user, item) row adds nothing: dropped, keeping the first. MMRec's split is
    # given, so only repeats within one split are; a pair in two splits is kept and reported.
    duplicated = df.duplicated(["user", "item", "split"] if raw.format == "mmrec" else ["user", "item"],
                               keep="first").to_numpy()
    n_duplicates = int(duplicated.sum())
    df = df[~duplicated]
    if raw.format in RAW_RELEASE_FORMATS:
        user_codes, user_uniques = pd.factorize(df["user"], sort=False)  # first-appearance order
        item_codes, item_uniques = pd.factorize(df["item"], sort=False)
        users, items = user_codes.astype(np.int64), item_codes.astype(np.int64)
        split = mmrec_split(users, seed)
        user_ids = pd.DataFrame({"original": np.asarray(user_uniques, dtype=str),
                                 "user": np.arange(len(user_uniques), dtype=np.int64)})
        item_ids = pd.DataFrame({"original": np.asarray(item_uniques, dtype=str),
                                 "item": np.arange(len(item_uniques), dtype=np.int64)})
    elif raw.format == "mmrec":
        users = df["user"].to_numpy(np.int64)
        items = df["item"].to_numpy(np.int64)
        split = df["split"].to_numpy(np.int8)
        n_users = int(users.max()) + 1 if len(users) else 0
        n_items = int(items.max()) + 1 if len(items) else 0
        user_ids = _mmrec_mapping(raw.user_ids, n_users, "user")
        item_ids = _mmrec_mapping(raw.item_ids, n_items, "item")
    else:
        raise DataFormatError(f"{raw.source}: unknown format {raw.format!r}; expected 'mmrec' or one of {RAW_RELEASE_FORMATS}")

    out = pd.DataFrame({
        "user": users, "item": items, "split": split,
        "timestamp": df["timestamp"].to_numpy(np.float64),
    })
    # Held-out rows of users with no training row cannot be scored by a collaborative model.
    has_train = np.zeros(len(user_ids), dtype=bool)
    has_train[users[split == TRAIN]] = True
    orphan = (split != TRAIN) & ~has_train[users]
    if orphan.any():
        logger.info("%s: dropped %d valid/test interactions of %d users with no training interaction",
                    raw.name, int(orphan.sum()), len(np.unique(users[orphan])))
        out = out[~orphan].reset_index(drop=True)

    counts = {s: int((out["split"] == code).sum())
              for s, code in (("train", TRAIN), ("valid", VALID), ("test", TEST))}
    for s, n in counts.items():
        if n == 0:
            raise DataFormatError(
                f"dataset '{raw.name}' ({raw.source}) has no {s} interactions after splitting; "
                "expected at least one"
            )
    info = {
        "name": raw.name, "format": raw.format,
        "n_users": len(user_ids), "n_items": len(item_ids),
        **{f"n_{s}": n for s, n in counts.items()},
        "n_duplicates_dropped": n_duplicates,
        "n_train_valid_overlap": split_overlap(out, VALID, len(item_ids)),
        "n_train_test_overlap": split_overlap(out, TEST, len(item_ids)),
        "fingerprint": fingerprint(out),
    }
    report_repeats(info, raw.source)
    return out, user_ids, item_ids, info


def split_overlap(interactions: pd.DataFrame, held_out: int, n_items: int) -> int:
    """Distinct (user, item) pairs in both train and the `held_out` split."""
    pair = interactions["user"].to_numpy(np.int64) * n_items + interactions["item"].to_numpy(np.int64)
    split = interactions["split"].to_numpy()
    return len(np.intersect1d(pair[split == TRAIN], pair[split == held_out]))


def report_repeats(info: dict, source: str) -> None:
    """One warning for dropped duplicate rows and for pairs in train and a held-out split: the
    training mask hides such an item when ranking, so its held-out row can never be hit."""
    counts = {key: info[key] for key in ("n_duplicates_dropped", "n_train_valid_overlap", "n_train_test_overlap")}
    if any(counts.values()):
        logger.warning("%s: %d duplicate (user, item) row(s) dropped; %d pair(s) in both train and valid, "
                       "%d in both train and test (kept as given; such held-out rows can never be hit) "
                       "- counts in dataset_info.json", source, *counts.values())


def align_items(items: pd.DataFrame | None, item_ids: pd.DataFrame) -> pd.DataFrame:
    """Item metadata ordered by the prepared item index: columns `item` (new index),
    `original`, then the metadata columns. Items without a metadata row get empty strings
    (text columns) or NaN (numeric columns)."""
    item_ids = item_ids.sort_values("item", kind="stable")
    aligned = pd.DataFrame({"item": item_ids["item"].to_numpy(),
                            "original": item_ids["original"].astype(str).to_numpy()})
    if items is None:
        return aligned
    meta = items.assign(item=items["item"].astype(str)).drop_duplicates("item").set_index("item")
    meta = meta.reindex(aligned["original"]).reset_index(drop=True)
    for column in meta.columns:
        if not pd.api.types.is_numeric_dtype(meta[column]):
            meta[column] = meta[column].fillna("")
    return pd.concat([aligned, meta], axis=1)
