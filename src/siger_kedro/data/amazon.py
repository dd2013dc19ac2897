"""Reader for one category `<Cat>` of the raw Amazon 2014 release (docs/data-formats.md), cleaned with
MMRec's recipe: duplicates dropped, iterative k-core, text = title + brand + categories[0] +
description.

Files looked for in the folder:
- `reviews_<Cat>_5.json.gz` (JSON lines: reviewerID, asin, overall, unixReviewTime) or
  `ratings_<Cat>.csv` (no header: user, item, rating, unix time). The reviews file wins when
  both are present: MMRec's published counts come from it.
- `meta_<Cat>.json.gz` (optional): one Python-literal dict a line, parsed with
  `ast.literal_eval` only, so a line can never run code.
- `image_features_<Cat>.b` (optional): records of a 10-byte ASCII asin + 4096 float32 LE.

Image features are deliberately not returned in `RawDataset.features`: those rows must follow
the final item index, which `prepare_interactions` fixes only when it re-indexes items by
first appearance. The caller prepares the interactions first, then calls
`image_features_for(image_features_path(...), item_ids["original"])` to get the matrix in
that order (items without a vector get the mean vector, as in MMRec).
"""
from __future__ import annotations

import ast
import gzip
import json
import logging
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataFormatError
from .kcore import dedup_kcore
from .dataset import RawDataset

logger = logging.getLogger(__name__)

IMAGE_DIM = 4096
ASIN_BYTES = 10
REVIEW_KEYS = ("reviewerID", "asin", "unixReviewTime")  # `overall` is unused: implicit feedback
RATING_COLUMNS = ["user", "item", "rating", "timestamp"]
# Cheap look-up of a meta line's asin, so lines of unwanted items skip literal_eval.
_ASIN_RE = re.compile(r"""['"]asin['"]\s*:\s*['"]([^'"]+)['"]""")


def amazon_paths(folder: Path, category: str) -> dict[str, Path]:
    folder = Path(folder)
    return {
        "reviews": folder / f"reviews_{category}_5.json.gz",
        "ratings": folder / f"ratings_{category}.csv",
        "meta": folder / f"meta_{category}.json.gz",
        "image": folder / f"image_features_{category}.b",
    }


def image_features_path(folder: Path, category: str) -> Path | None:
    path = amazon_paths(folder, category)["image"]
    return path if path.is_file() else None


def _gzip_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) of the non-blank lines of a gzipped UTF-8 text file."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    yield n, line
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise DataFormatError(f"{path}: cannot be read as gzip-compressed UTF-8 text ({e})") from e


def read_reviews_json(path: Path) -> pd.DataFrame:
    """`[user, item, timestamp]` from a `reviews_<Cat>_5.json.gz` file, in file order."""
    users, items, times = [], [], []
    for n, line in _gzip_lines(path):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataFormatError(
                f"{path}: line {n}: not valid JSON ({e.msg}); expected one JSON object a line") from e
        if not isinstance(record, dict):
            raise DataFormatError(f"{path}: line {n}: expected a JSON object, found {type(record).__name__}")
        missing = [key for key in REVIEW_KEYS if key not in record]
        if missing:
            raise DataFormatError(f"{path}: line {n}: missing key(s) {', '.join(missing)} "
                                  f"(expected keys {', '.join(REVIEW_KEYS)})")
        try:
            times.append(float(record["unixReviewTime"]))
        except (TypeError, ValueError) as e:
            raise DataFormatError(f"{path}: line {n}, key 'unixReviewTime': expected a unix time, "
                                  f"found {record['unixReviewTime']!r}") from e
        users.append(str(record["reviewerID"]))
        items.append(str(record["asin"]))
    return pd.DataFrame({"user": users, "item": items, "timestamp": np.asarray(times, dtype=np.float64)})


def read_ratings_csv(path: Path) -> pd.DataFrame:
    """`[user, item, timestamp]` from a header-less `ratings_<Cat>.csv`, in file order."""
    expected = "4 comma-separated fields user,item,rating,unix time"
    try:
        # Blank lines kept so that row i is line i + 1 in error messages.
        df = pd.read_csv(path, header=None, names=RATING_COLUMNS, dtype=str,
                         na_filter=False, skip_blank_lines=False)
    except pd.errors.EmptyDataError as e:
        raise DataFormatError(f"{path}: empty file; expected lines of {expected}") from e
    except pd.errors.ParserError as e:
        raise DataFormatError(f"{path}: {e}; expected {expected}") from e
    empty = (df[["user", "item", "timestamp"]] == "").any(axis=1).to_numpy()
    if empty.any():
        line = int(np.flatnonzero(empty)[0]) + 1
        raise DataFormatError(f"{path}: line {line}: missing field(s); expected {expected}")
    times = pd.to_numeric(df["timestamp"], errors="coerce").to_numpy(np.float64)
    bad = np.isnan(times)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{path}: line {i + 1}, field 4: expected a unix time, found {df['timestamp'].iloc[i]!r}")
    return pd.DataFrame({"user": df["user"].to_numpy(), "item": df["item"].to_numpy(), "timestamp": times})


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def item_text(meta: Mapping) -> str:
    """MMRec's item text: title, brand, each entry of categories[0], description; missing
    parts skipped, whitespace collapsed to single spaces."""
    categories = meta.get("categories")
    first = categories[0] if isinstance(categories, (list, tuple)) and categories else []
    if isinstance(first, str):  # tolerate a flat list of category names
        first = [first]
    parts = [meta.get("title"), meta.get("brand"), *first, meta.get("description")]
    return " ".join(" ".join(_text(p) for p in parts).split())


def read_meta(path: Path, wanted: Iterable[str] | None = None) -> pd.DataFrame:
    """`[item, text, image_url]` from `meta_<Cat>.json.gz`, first row per asin, file order.

    With `wanted`, lines whose asin is visibly another item are skipped unparsed (the full
    category file has far more items than the k-core keeps); every other line is parsed and
    a malformed one raises.
    """
    wanted = None if wanted is None else set(wanted)
    rows: dict[str, tuple[str, str]] = {}
    for n, line in _gzip_lines(path):
        found = _ASIN_RE.search(line)
        if wanted is not None and found and found.group(1) not in wanted:
            continue
        try:
            record = ast.literal_eval(line.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as e:
            raise DataFormatError(f"{path}: line {n}: not a Python-literal dict ({type(e).__name__}: {e})") from e
        if not isinstance(record, dict) or "asin" not in record:
            raise DataFormatError(f"{path}: line {n}: expected a dict with key 'asin', "
                                  f"found {type(record).__name__}")
        asin = str(record["asin"])
        if (wanted is None or asin in wanted) and asin not in rows:
            rows[asin] = (item_text(record), _text(record.get("imUrl")))
    return pd.DataFrame({"item": list(rows), "text": [r[0] for r in rows.values()],
                         "image_url": [r[1] for r in rows.values()]})


def read_image_features_b(
    path: Path, wanted_asins: Iterable[str] | None = None, dim: int = IMAGE_DIM, chunk_records: int = 256
) -> tuple[list[str], np.ndarray]:
    """(asins, float32 matrix) from an `image_features_<Cat>.b` file, first record per asin.

    The file (GBs for a whole category) is streamed `chunk_records` records at a time and only
    `wanted_asins` are kept when given.
    """
    record = np.dtype([("asin", f"S{ASIN_BYTES}"), ("feat", "<f4", (dim,))])
    wanted = None if wanted_asins is None else {a.encode("ascii", "replace") for a in wanted_asins}
    asins: list[str] = []
    rows: list[np.ndarray] = []
    seen: set[bytes] = set()
    offset = 0
    with open(path, "rb") as f:
        while buf := f.read(record.itemsize * chunk_records):
            complete = len(buf) // record.itemsize
            chunk = np.frombuffer(buf, dtype=record, count=complete)
            for j, key in enumerate(chunk["asin"]):
                if key in seen or (wanted is not None and key not in wanted):
                    continue
                try:
                    asins.append(key.decode("ascii"))
                except UnicodeDecodeError as e:
                    raise DataFormatError(f"{path}: byte offset {offset + j * record.itemsize}: "
                                          f"asin {key!r} is not ASCII") from e
                seen.add(key)
                rows.append(chunk["feat"][j].copy())  # a view would keep the whole chunk alive
            offset += complete * record.itemsize
            if len(buf) % record.itemsize:  # a short read only happens at the end of the file
                raise DataFormatError(
                    f"{path}: truncated record at byte offset {offset}: {len(buf) % record.itemsize} "
                    f"bytes left, expected records of {record.itemsize} bytes "
                    f"({ASIN_BYTES}-byte asin + {dim} float32)")
    matrix = np.array(rows, dtype=np.float32).reshape(len(rows), dim)
    return asins, matrix


def image_features_for(path: Path, items_in_order: Iterable[str], dim: int = IMAGE_DIM) -> tuple[np.ndarray, int]:
    """(n_items, dim) float32 image matrix whose row i is item `items_in_order[i]`, and the
    number of items without a record, whose rows get the mean of the found rows (MMRec)."""
    items = [str(a) for a in items_in_order]
    asins, found = read_image_features_b(path, items, dim)
    if not asins:
        raise DataFormatError(f"{path}: no image feature record for any of the {len(items)} items "
                              "(expected records whose asins match the dataset's items)")
    row_of = dict(zip(asins, range(len(asins))))
    index = np.array([row_of.get(a, -1) for a in items], dtype=np.int64)
    matrix = np.empty((len(items), dim), dtype=np.float32)
    matrix[:] = found.mean(axis=0, dtype=np.float64)
    matrix[index >= 0] = found[index[index >= 0]]
    n_missing = int((index < 0).sum())
    if n_missing:
        logger.info("%s: %d of %d items have no image feature; filled with the mean vector",
                    path, n_missing, len(items))
    return matrix, n_missing


def read_amazon(folder: Path, category: str, k: int = 5, name: str | None = None) -> RawDataset:
    """The k-core of one Amazon category as an atomic RawDataset.

    `interactions` = `[user, item, timestamp]` (asins as items, unix seconds), file order kept
    so that `prepare_interactions` re-indexes by first appearance. `items` = `[item, text,
    image_url]`, one row per kept item in that order ("" where the meta file has no line), or
    None without a meta file.
    """
    folder = Path(folder)
    paths = amazon_paths(folder, category)
    if paths["reviews"].is_file():
        interactions = read_reviews_json(paths["reviews"])
    elif paths["ratings"].is_file():
        interactions = read_ratings_csv(paths["ratings"])
    else:
        present = ", ".join(sorted(p.name for p in folder.iterdir())) if folder.is_dir() else "no such folder"
        raise DataFormatError(f"{folder}: no interaction file for category '{category}'; expected "
                              f"{paths['reviews'].name} or {paths['ratings'].name} (found {present or 'nothing'})")
    interactions = dedup_kcore(interactions, k)

    items = None
    if paths["meta"].is_file():
        order = pd.unique(interactions["item"])
        meta = read_meta(paths["meta"], order)
        items = pd.DataFrame({"item": order}).merge(meta, on="item", how="left").fillna("")
        if len(meta) < len(order):
            logger.info("%s: %d of %d items have no meta line", paths["meta"], len(order) - len(meta), len(order))
    # Re-indexing is by first appearance, so the feature rows can be aligned here already.
    order = pd.unique(interactions["item"])
    features = {}
    b_path = image_features_path(folder, category)
    if b_path is not None:
        features["image"], n_missing = image_features_for(b_path, order)
        logger.info("%s: %d of %d items have no image feature and get the mean vector",
                    b_path, n_missing, len(order))
    elif items is not None and (folder / "images").is_dir():
        images = {p.stem: str(p) for p in sorted((folder / "images").iterdir())}
        items["image_path"] = [images.get(i, "") for i in items["item"]]
    return RawDataset(name=name or category, source=str(folder), format="amazon",
                      interactions=interactions, items=items, features=features)
