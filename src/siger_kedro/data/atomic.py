"""Reader for RecBole atomic files: `<name>.inter` and the optional `<name>.item`, tab-separated
with typed headers (`user_id:token  item_id:token  rating:float ...`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataFormatError
from .mmrec import parse_float_column, read_tsv

FIELD_TYPES = ("token", "token_seq", "float", "float_seq")
USER_FIELD, ITEM_FIELD = "user_id", "item_id"


def is_typed_header(fields: list[str]) -> bool:
    """RecBole headers carry a `:type` suffix on every field; MMRec headers are plain names."""
    return bool(fields) and all(":" in f for f in fields)


def read_atomic_file(path: Path) -> pd.DataFrame:
    """An atomic file with the type suffixes stripped from the column names. `float` columns
    become float64 (empty = NaN); tokens and sequences stay strings (sequences keep their
    space-separated form)."""
    df = read_tsv(path)
    columns = {}
    for field in df.columns:
        name, _, ftype = str(field).rpartition(":")
        if not name or ftype not in FIELD_TYPES:
            raise DataFormatError(
                f"{path}: header field '{field}' is not 'name:type' with type one of "
                f"{', '.join(FIELD_TYPES)}"
            )
        columns[field] = name
    df = df.rename(columns=columns)
    for field, name in columns.items():
        if field.endswith(":float"):
            df[name] = parse_float_column(df, name, path)
    return df


def _require(df: pd.DataFrame, path: Path, fields: tuple[str, ...]) -> None:
    for field in fields:
        if field not in df.columns:
            raise DataFormatError(
                f"{path}: missing field '{field}' (expected fields "
                f"{', '.join(f + ':token' for f in fields)}; found {', '.join(df.columns)})"
            )
    for field in fields:
        empty = (df[field] == "").to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise DataFormatError(f"{path}: line {df.index[i] + 2}, field '{field}': empty id")


def read_atomic_inter(path: Path) -> pd.DataFrame:
    """Interactions with string `user`, `item` and float `timestamp` (NaN when absent).
    Ratings are ignored: every row is an implicit positive."""
    df = read_atomic_file(path)
    _require(df, path, (USER_FIELD, ITEM_FIELD))
    return pd.DataFrame({
        "user": df[USER_FIELD].to_numpy(),
        "item": df[ITEM_FIELD].to_numpy(),
        "timestamp": parse_float_column(df, "timestamp", path) if "timestamp" in df.columns
        else np.full(len(df), np.nan),
    })


def read_atomic_items(path: Path) -> pd.DataFrame:
    """Item metadata: column `item` (original id string) then the other fields, in file order."""
    df = read_atomic_file(path)
    _require(df, path, (ITEM_FIELD,))
    df = df.rename(columns={ITEM_FIELD: "item"})
    return df[["item"] + [c for c in df.columns if c != "item"]].reset_index(drop=True)
