"""The recommender folder and its lists, by hand on a small example."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from siger_kedro.data.errors import DataFormatError
from siger_kedro.serving import Recommender, UnknownUserError, recommender_from_training
from siger_kedro.serving.store import read_user_ids, requested_users


def _recommender() -> Recommender:
    # user a likes items x (score 3) > y (2) > z (1); user b the reverse; a has seen x
    users = np.array([[1.0], [-1.0]], dtype=np.float32)
    items = np.array([[3.0], [2.0], [1.0]], dtype=np.float32)
    seen = sp.csr_matrix(np.array([[1, 0, 0], [0, 0, 0]], dtype=np.float32))
    return Recommender(model="m", dataset="d", users=np.array(["a", "b"], dtype=object),
                       items=np.array(["x", "y", "z"], dtype=object), titles=np.array(["X", "Y", ""], dtype=object),
                       user_embeddings=users, item_embeddings=items, seen=seen, popularity=np.array([1, 5, 3]), k=2)


def test_lists_leave_out_seen_items_and_use_original_ids():
    out = _recommender().recommend(["a", "b"])
    assert list(out.columns) == ["user", "rank", "item", "title", "score", "source"]
    assert out[out.user == "a"]["item"].tolist() == ["y", "z"]  # x was seen
    assert out[out.user == "b"]["item"].tolist() == ["z", "y"]
    assert out[out.user == "a"]["title"].tolist() == ["Y", ""]
    assert out["rank"].tolist() == [1, 2, 1, 2] and (out["source"] == "model").all()
    assert out["score"].tolist() == [2.0, 1.0, -1.0, -2.0]


def test_keep_seen_order_of_request_and_k():
    rec = _recommender()
    assert rec.recommend(["a"], keep_seen=True)["item"].tolist() == ["x", "y"]
    assert rec.recommend(["b", "a", "b"], k=1)["user"].tolist() == ["b", "a"]
    assert len(rec.recommend(None, k=5)) == 2 + 3  # a has only two unseen items
    with pytest.raises(ValueError, match="k must be at least 1"):
        rec.recommend(["a"], k=0)


def test_unknown_user_is_named_or_gets_popular_items_marked_as_such():
    rec = _recommender()
    with pytest.raises(UnknownUserError, match=r"user id\(s\) nobody not in dataset d \(2 users, e.g. a, b\)"):
        rec.recommend(["a", "nobody"])
    out = rec.recommend(["nobody", "a"], unknown_users="popular")
    assert out[out.user == "nobody"]["item"].tolist() == ["y", "z"]
    assert out[out.user == "nobody"]["source"].eq("popular").all() and out[out.user == "a"]["source"].eq("model").all()


def test_folder_round_trip_and_refusals(tmp_path):
    rec = _recommender()
    rec.save(tmp_path / "r")
    back = Recommender.load(tmp_path / "r")
    pd.testing.assert_frame_equal(back.recommend(), rec.recommend())
    (tmp_path / "r" / "seen.npz").unlink()
    with pytest.raises(DataFormatError, match="not a recommender folder \\(missing seen.npz\\)"):
        Recommender.load(tmp_path / "r")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="notes.txt"):
        rec.save(tmp_path / "other")
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_built_from_training_tables():
    interactions = pd.DataFrame({"user": [0, 0, 1, 1], "item": [0, 1, 1, 2], "split": [0, 2, 0, 1]})
    user_ids = pd.DataFrame({"original": ["b", "a"], "user": [1, 0]})
    item_ids = pd.DataFrame({"original": ["x", "y", "z"], "item": [0, 1, 2]})
    items = pd.DataFrame({"item": [2, 0, 1], "movie_title": ["Zed  film", "Ex", "Why"]})
    rec = recommender_from_training("m", "d", np.ones((2, 4)), np.ones((3, 4)), interactions, user_ids, item_ids,
                                    items, ["title", "movie_title"], k=3)
    assert rec.users.tolist() == ["a", "b"] and rec.titles.tolist() == ["Ex", "Why", "Zed film"]
    assert rec.seen.toarray().tolist() == [[1, 1, 0], [0, 1, 1]]  # every split counts as seen
    assert rec.popularity.tolist() == [1, 1, 0]  # training split only
    assert rec.user_embeddings.dtype == np.float32


def test_requested_users_from_parameters_and_file(tmp_path):
    assert requested_users(None, None) is None and requested_users("all", None) is None
    assert requested_users("196;305", None) == ["196", "305"]
    assert requested_users(196, None) == ["196"]
    assert requested_users([196, "7"], None) == ["196", "7"]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "users.txt").write_text("# wanted\n196\n\n305\n")
    assert requested_users("1", "data/users.txt", tmp_path) == ["1", "196", "305"]
    (tmp_path / "data" / "bad.txt").write_text("196\n305 7\n")
    with pytest.raises(DataFormatError, match="bad.txt: line 2: '305 7' is not one user id"):
        read_user_ids("data/bad.txt", tmp_path)
    (tmp_path / "outside.txt").write_text("1\n")
    with pytest.raises(ValueError, match="not under .*put the file in data/"):
        read_user_ids("data/../outside.txt", tmp_path)


def test_latest_before_any_train_says_what_to_run(tmp_path):
    from siger_kedro.serving.store import RecommenderStore

    with pytest.raises(FileNotFoundError, match="no trained recommender. Run 'kedro run --pipeline train' first"):
        RecommenderStore(tmp_path / "missing").get("latest")
    _recommender().save(tmp_path / "saved")
    assert RecommenderStore(tmp_path / "saved").get("latest").recommend(["a"])["item"].tolist() == ["y", "z"]
