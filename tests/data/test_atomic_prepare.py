from pathlib import Path

import numpy as np
import pandas as pd

from siger_kedro.data.prepare import align_items, prepare_interactions
from siger_kedro.data.raw import read_raw_folder


def write_movielens_like(folder: Path, name: str = "tiny") -> Path:
    """Users 'u7', 'u3' with 10 interactions each, items 'm1'..'m11'; one duplicate pair."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
    for t, i in enumerate([5, 1, 2, 3, 4, 6, 7, 8, 9, 10]):
        lines.append(f"u7\tm{i}\t4\t{1000 + t}")
    lines.append("u7\tm5\t2\t2000")  # duplicate (u7, m5): dropped, first kept
    for t, i in enumerate([1, 2, 3, 4, 5, 6, 7, 8, 9, 11]):
        lines.append(f"u3\tm{i}\t3\t{3000 + t}")
    (folder / f"{name}.inter").write_text("\n".join(lines) + "\n")
    items = ["item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq"]
    items += [f"m{i}\tMovie {i}\t{1990 + i}\tDrama Comedy" for i in range(1, 11)]  # m11 has no row
    (folder / f"{name}.item").write_text("\n".join(items) + "\n")
    return folder


def test_atomic_reader_types(tmp_path):
    raw = read_raw_folder(write_movielens_like(tmp_path / "tiny"), "tiny")
    assert raw.format == "atomic"
    assert raw.interactions.columns.tolist() == ["user", "item", "timestamp"]
    assert raw.interactions["user"].iloc[0] == "u7" and raw.interactions["item"].iloc[0] == "m5"
    assert raw.interactions["timestamp"].dtype == np.float64
    assert raw.items.columns.tolist() == ["item", "movie_title", "release_year", "class"]
    assert raw.items["class"].iloc[0] == "Drama Comedy"  # token_seq kept as a string


def test_prepare_atomic_dedup_reindex_split(tmp_path):
    raw = read_raw_folder(write_movielens_like(tmp_path / "tiny"), "tiny")
    inter, user_ids, item_ids, info = prepare_interactions(raw, seed=0)
    assert info["n_duplicates_dropped"] == 1
    assert len(inter) == 20
    # Re-indexed by first appearance in the file.
    assert user_ids["original"].tolist() == ["u7", "u3"]
    assert item_ids["original"].tolist() == [f"m{i}" for i in [5, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]]
    assert inter["item"].iloc[0] == 0 and inter["user"].iloc[-1] == 1
    # 10 interactions per user: 8 / 1 / 1.
    assert (info["n_users"], info["n_items"]) == (2, 11)
    assert (info["n_train"], info["n_valid"], info["n_test"]) == (16, 2, 2)
    for u in (0, 1):
        assert np.bincount(inter.loc[inter["user"] == u, "split"], minlength=3).tolist() == [8, 1, 1]
    # Same seed, same result; fingerprint follows the content.
    again = prepare_interactions(raw, seed=0)
    assert again[3]["fingerprint"] == info["fingerprint"]
    assert prepare_interactions(raw, seed=1)[3]["fingerprint"] != info["fingerprint"]


def test_align_items_orders_by_new_index(tmp_path):
    raw = read_raw_folder(write_movielens_like(tmp_path / "tiny"), "tiny")
    _, _, item_ids, _ = prepare_interactions(raw, seed=0)
    aligned = align_items(raw.items, item_ids)
    assert aligned["item"].tolist() == list(range(11))
    assert aligned["movie_title"].iloc[0] == "Movie 5"
    assert aligned["original"].iloc[10] == "m11" and aligned["movie_title"].iloc[10] == ""
    assert align_items(None, item_ids).columns.tolist() == ["item", "original"]


def test_align_items_numeric_gaps_are_nan():
    items = pd.DataFrame({"item": ["a"], "price": [1.5]})
    ids = pd.DataFrame({"original": ["b", "a"], "item": [0, 1]})
    aligned = align_items(items, ids)
    assert np.isnan(aligned["price"].iloc[0]) and aligned["price"].iloc[1] == 1.5
