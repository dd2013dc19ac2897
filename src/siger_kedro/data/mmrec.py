"""Reader for the MMRec format: `<name>.inter` (TSV, header `userID itemID rating timestamp
x_label`, 0-based contiguous ids, x_label 0/1/2 = train/valid/test), `<modality>_feat.npy`
(row i = item i) and the optional `u_id_mapping.csv` / `i_id_mapping.csv`."""
from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..storage import load_array
from .errors import DataFormatError, not_utf8

REQUIRED_COLUMNS = ("userID", "itemID", "x_label")
FEATURE_SUFFIX = "_feat.npy"
# 0-based contiguous ids are below the number of rows. Gaps (rows dropped without re-indexing)
# are tolerated up to this factor; a larger id would only allocate memory for ids no row uses.
ID_GAP_FACTOR = 10


def read_tsv(path: Path) -> pd.DataFrame:
    """Read a tab-separated file with a header, every field as a string.

    The index is the file's line number minus 2 (header = line 1), so errors can name the line;
    blank lines are dropped after reading to keep that numbering exact. Quotes are not special.
    """
    try:
        with warnings.catch_warnings():
            # pandas only warns when the first data row has more fields than the header
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(
                path, sep="\t", dtype=str, na_filter=False, quoting=csv.QUOTE_NONE,
                skip_blank_lines=False, index_col=False,
            )
    except pd.errors.ParserWarning as e:
        raise DataFormatError(
            f"{path}: malformed tab-separated file (line 2 has more fields than the header; "
            "expected one value per header field)"
        ) from e
    except pd.errors.ParserError as e:
        raise DataFormatError(f"{path}: malformed tab-separated file ({str(e).strip()})") from e
    except pd.errors.EmptyDataError as e:
        raise DataFormatError(f"{path}: file is empty; expected a header line") from e
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    if df.shape[1] == 1 and "," in str(df.columns[0]):  # the whole comma-separated line is one field
        raise DataFormatError(
            f"{path} is comma-separated, not tab-separated: its header line {df.columns[0]!r} has no "
            "tab; expected fields separated by tabs"
        )
    blank = (df == "").all(axis=1)
    return df[~blank]


def parse_int_column(df: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """A non-negative integer column as int64, naming the first bad line otherwise."""
    try:
        ints = df[column].to_numpy().astype(np.int64)  # fast path for clean files
    except (ValueError, OverflowError):
        values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values) | (values != np.floor(values)) | (np.abs(values) >= 2.0**63)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataFormatError(
                f"{path}: line {df.index[i] + 2}, column '{column}': {df[column].iloc[i]!r} is not "
                f"an integer ({int(bad.sum())} bad row(s); expected integer ids)"
            ) from None
        ints = values.astype(np.int64)  # integral floats such as "3.0"
    low = ints < 0
    if low.any():
        i = int(np.flatnonzero(low)[0])
        raise DataFormatError(
            f"{path}: line {df.index[i] + 2}, column '{column}': {ints[i]} is negative "
            "(expected integers >= 0)"
        )
    return ints


def check_id_range(ids: np.ndarray, df: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """`ids` unless one is far larger than the file's row count allows (an id of 10^12 in a
    small file would size every per-id array at 10^12), naming the first such line."""
    limit = ID_GAP_FACTOR * len(ids) + 1000
    high = ids >= limit
    if high.any():
        i = int(np.flatnonzero(high)[0])
        raise DataFormatError(
            f"{path}: line {df.index[i] + 2}, column '{column}': id {ids[i]} is far larger than the "
            f"file's {len(ids)} rows allow ({int(high.sum())} such row(s); expected 0-based "
            f"contiguous ids, all below {limit})"
        )
    return ids


def parse_float_column(df: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """A float column; empty fields (and "nan") become NaN, anything else non-numeric is an
    error naming the first bad line."""
    raw = df[column]
    try:
        return raw.to_numpy().astype(np.float64)  # fast path: every field is a number
    except ValueError:
        pass
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values) & ~raw.str.strip().str.lower().isin(["", "nan"]).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{path}: line {df.index[i] + 2}, column '{column}': {raw.iloc[i]!r} is not a number"
        )
    return values


def read_mmrec_inter(path: Path) -> pd.DataFrame:
    """Interactions with int64 `user`, `item`, float `timestamp` (NaN when absent) and int8
    `split` taken from x_label (the given split is kept, never recomputed)."""
    df = read_tsv(path)
    for column in REQUIRED_COLUMNS:
        if column not in df.columns:
            raise DataFormatError(
                f"{path}: missing column '{column}' (expected columns {', '.join(REQUIRED_COLUMNS)}; "
                f"found {', '.join(map(str, df.columns))})"
            )
    split = parse_int_column(df, "x_label", path)
    bad = split > 2
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{path}: line {df.index[i] + 2}, column 'x_label': {split[i]} is not a split label "
            "(expected 0 = train, 1 = valid, 2 = test)"
        )
    timestamp = (
        parse_float_column(df, "timestamp", path) if "timestamp" in df.columns
        else np.full(len(df), np.nan)
    )
    return pd.DataFrame({
        "user": check_id_range(parse_int_column(df, "userID", path), df, "userID", path),
        "item": check_id_range(parse_int_column(df, "itemID", path), df, "itemID", path),
        "timestamp": timestamp,
        "split": split.astype(np.int8),
    })


def read_feature_files(folder: Path) -> dict[str, np.ndarray]:
    """Every `<modality>_feat.npy` in `folder`, keyed by modality and sorted by name.
    Arrays are returned as stored; `validate.validate_features` checks them."""
    features = {}
    for path in sorted(folder.glob("*" + FEATURE_SUFFIX)):
        features[path.name[: -len(FEATURE_SUFFIX)]] = load_array(path)
    return features


def read_id_mapping(path: Path, index_column: str, new_name: str) -> pd.DataFrame:
    """MMRec's `u_id_mapping.csv` / `i_id_mapping.csv` (tab-separated, original id and integer
    id) as a frame `[original, <new_name>]` sorted by the integer id. The integer column is
    `index_column` (userID / itemID) when present, else the second column."""
    df = read_tsv(path)
    if df.shape[1] != 2:
        raise DataFormatError(
            f"{path}: {df.shape[1]} columns; expected 2 (original id, {index_column})"
        )
    index_col = index_column if index_column in df.columns else df.columns[1]
    original_col = next(c for c in df.columns if c != index_col)
    out = pd.DataFrame({
        "original": df[original_col].astype(str).to_numpy(),
        new_name: parse_int_column(df, index_col, path),
    })
    return out.sort_values(new_name, kind="stable").reset_index(drop=True)
