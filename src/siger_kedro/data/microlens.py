"""Reader for the MicroLens release (docs/data-formats.md), cleaned like the Amazon sets (duplicates
dropped, iterative k-core).

Files looked for in the folder (or passed explicitly):
- pairs: the one `*pairs.csv` (e.g. `MicroLens-100k_pairs.csv`); columns user, item and a
  timestamp in milliseconds. The `*_pairs.tsv` sequence file is not read.
- titles (optional): `*title_en.csv`, else the one `*title*.csv`; columns item, title.
- covers (optional): the one sub-folder whose name contains "cover", holding `<item>.jpg`
  (or `.jpeg`/`.png`).

Column mapping: header names are compared lower-cased with `_`, `-` and spaces removed, so
`user`, `user_id`, `userID` all mean the user; items are `item`, `item_id`, `videoID`,
`video_id`; time is `timestamp`/`time`; title is `title`/`title_en`. Releases differ in these
names, and that is the only difference between them. A file whose first line starts with a
number is read as header-less with the columns in that order.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataFormatError, not_utf8
from .kcore import dedup_kcore
from .dataset import RawDataset

logger = logging.getLogger(__name__)

USER_NAMES = {"user", "userid", "uid"}
ITEM_NAMES = {"item", "itemid", "iid", "video", "videoid"}
TIME_NAMES = {"timestamp", "time", "ts"}
TITLE_NAMES = {"title", "titleen"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")  # preference order when one item has several


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", str(name)).lower()


def _read_columns(path: Path, roles: dict[str, set[str]]) -> tuple[pd.DataFrame, int]:
    """The columns named by `roles` (role -> accepted header names) as strings, and the file
    line number of the first data row (for error messages)."""
    expected = ", ".join(f"{role} ({'/'.join(sorted(names))})" for role, names in roles.items())
    try:
        df = pd.read_csv(path, header=None, dtype=str, na_filter=False, skip_blank_lines=False)
    except pd.errors.EmptyDataError as e:
        raise DataFormatError(f"{path}: empty file; expected a CSV with columns {expected}") from e
    except pd.errors.ParserError as e:
        raise DataFormatError(f"{path}: {e}; expected a CSV with columns {expected}") from e
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    header = [_norm(v) for v in df.iloc[0]]
    if header and header[0].isdigit():  # no header: columns in role order
        if df.shape[1] < len(roles):
            raise DataFormatError(f"{path}: line 1: {df.shape[1]} field(s); expected columns {expected}")
        return pd.DataFrame({role: df[j].to_numpy() for j, role in enumerate(roles)}), 1
    columns = {}
    for role, names in roles.items():
        matches = [j for j, h in enumerate(header) if h in names]
        if not matches:
            raise DataFormatError(f"{path}: header {', '.join(df.iloc[0])} has no {role} column; "
                                  f"expected columns {expected}")
        columns[role] = df[matches[0]].iloc[1:].to_numpy()
    return pd.DataFrame(columns), 2


def read_pairs(path: Path) -> pd.DataFrame:
    """`[user, item, timestamp]` in file order; timestamps converted from ms to unix seconds,
    the unit of the Amazon sets."""
    df, first_line = _read_columns(path, {"user": USER_NAMES, "item": ITEM_NAMES, "timestamp": TIME_NAMES})
    empty = (df == "").any(axis=1).to_numpy()
    if empty.any():
        raise DataFormatError(f"{path}: line {int(np.flatnonzero(empty)[0]) + first_line}: "
                              "empty field; expected user, item and timestamp")
    ms = pd.to_numeric(df["timestamp"], errors="coerce").to_numpy(np.float64)
    if np.isnan(ms).any():
        i = int(np.flatnonzero(np.isnan(ms))[0])
        raise DataFormatError(f"{path}: line {i + first_line}, column timestamp: expected a time in "
                              f"milliseconds, found {df['timestamp'].iloc[i]!r}")
    return pd.DataFrame({"user": df["user"].to_numpy(), "item": df["item"].to_numpy(), "timestamp": ms / 1000.0})


def read_titles(path: Path) -> pd.DataFrame:
    """`[item, text]`: the first title of each item, whitespace collapsed."""
    df, _ = _read_columns(path, {"item": ITEM_NAMES, "title": TITLE_NAMES})
    df = df.drop_duplicates("item", keep="first")
    return pd.DataFrame({"item": df["item"].to_numpy(),
                         "text": [" ".join(t.split()) for t in df["title"]]})


def cover_paths(folder: Path) -> dict[str, str]:
    """item id -> path of its cover image in `folder` (jpg preferred over png)."""
    found: dict[str, str] = {}
    for suffix in IMAGE_SUFFIXES:
        for p in sorted(folder.iterdir()):
            if p.suffix.lower() == suffix and p.is_file():
                found.setdefault(p.stem, str(p))
    return found


def _find(folder: Path, description: str, candidates: list[Path]) -> Path | None:
    """The single candidate, None if there is none, an error if the choice is ambiguous."""
    if len(candidates) > 1:
        raise DataFormatError(f"{folder}: several {description}: {', '.join(p.name for p in candidates)}; "
                              "pass the one to use explicitly")
    return candidates[0] if candidates else None


def read_microlens(
    folder: Path, k: int = 5, name: str = "microlens",
    pairs: Path | None = None, titles: Path | None = None, covers: Path | None = None,
) -> RawDataset:
    """The k-core of MicroLens as an atomic RawDataset: `interactions` `[user, item,
    timestamp]` in file order, `items` `[item, text, image_path]` with one row per kept item
    in first-appearance order ("" where there is no title or cover)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFormatError(f"{folder}: dataset folder not found; expected a folder holding a *pairs.csv file")
    pairs = pairs or _find(folder, "pairs files", sorted(folder.glob("*pairs.csv")))
    if pairs is None:
        present = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
        raise DataFormatError(f"{folder}: no interaction file; expected a *pairs.csv file such as "
                              f"MicroLens-100k_pairs.csv (found {present})")
    titles = titles or _find(folder, "title files", sorted(folder.glob("*title_en.csv"))
                             or sorted(folder.glob("*title*.csv")))
    covers = covers or _find(folder, "cover folders",
                             sorted(p for p in folder.iterdir() if p.is_dir() and "cover" in p.name.lower()))

    interactions = dedup_kcore(read_pairs(pairs), k)
    items = pd.DataFrame({"item": pd.unique(interactions["item"])})
    text = read_titles(titles).set_index("item")["text"] if titles else pd.Series(dtype=str)
    items["text"] = text.reindex(items["item"]).fillna("").to_numpy()
    images = cover_paths(covers) if covers else {}
    items["image_path"] = [images.get(i, "") for i in items["item"]]
    logger.info("%s: %d items, %d without title, %d without cover", folder, len(items),
                int((items["text"] == "").sum()), int((items["image_path"] == "").sum()))
    return RawDataset(name=name, source=str(folder), format="microlens", interactions=interactions, items=items)
