import numpy as np
import pandas as pd
import pytest

import siger_kedro.data.export as export_module
from siger_kedro.data.export import export_mmrec
from siger_kedro.data.prepare import prepare_interactions
from siger_kedro.data.raw import read_raw_folder

# A split no re-splitting would reproduce: user 0's *earliest* row is the test row.
ROWS = [  # user, item, split, timestamp
    (0, 0, 2, 100.0), (0, 1, 0, 105.0), (0, 2, 0, 110.0), (0, 3, 1, 120.0),
    (1, 1, 0, 1_600_000_000_123.0), (1, 4, 1, np.nan), (1, 0, 2, 202.5),
    (2, 2, 0, 300.0), (2, 3, 0, 301.0), (2, 4, 2, 302.0),
]


def prepared():
    inter = pd.DataFrame({
        "user": np.array([r[0] for r in ROWS], dtype=np.int64),
        "item": np.array([r[1] for r in ROWS], dtype=np.int64),
        "split": np.array([r[2] for r in ROWS], dtype=np.int8),
        "timestamp": np.array([r[3] for r in ROWS], dtype=np.float64),
    })
    # Odd-looking originals that a careless writer (quoting, NA parsing) would not round-trip.
    user_ids = pd.DataFrame({"original": ["A2X", 'quote"d', "nan"], "user": np.arange(3, dtype=np.int64)})
    item_ids = pd.DataFrame({"original": [f"B00{i}" for i in range(4)] + ["0042"],
                             "item": np.arange(5, dtype=np.int64)})
    rng = np.random.default_rng(0)
    features = {"image": rng.normal(size=(5, 4)).astype(np.float32),
                "text": rng.normal(size=(5, 3)).astype(np.float32)}
    return inter, user_ids, item_ids, features


def test_round_trip(tmp_path):
    inter, user_ids, item_ids, features = prepared()
    export_mmrec(tmp_path / "out", "toy", inter, user_ids, item_ids, features)
    raw = read_raw_folder(tmp_path / "out", "toy")
    assert raw.format == "mmrec"
    back, back_users, back_items, info = prepare_interactions(raw, seed=0)

    cols = ["user", "item", "split"]
    pd.testing.assert_frame_equal(back[cols], inter[cols])
    pd.testing.assert_frame_equal(back_users, user_ids)
    pd.testing.assert_frame_equal(back_items, item_ids)
    assert list(raw.features) == ["image", "text"]
    for modality, array in features.items():
        assert raw.features[modality].dtype == np.float32
        assert np.array_equal(raw.features[modality], array)
    # Timestamps survive, except the missing one, which MMRec writes as 0.
    expected_ts = inter["timestamp"].fillna(0.0).to_numpy()
    assert np.array_equal(back["timestamp"].to_numpy(), expected_ts)
    assert (info["n_train"], info["n_valid"], info["n_test"]) == (5, 2, 3)


def test_split_comes_from_x_label(tmp_path):
    inter, user_ids, item_ids, features = prepared()
    export_mmrec(tmp_path / "out", "toy", inter, user_ids, item_ids, features)
    raw = read_raw_folder(tmp_path / "out", "toy")
    for seed in (0, 7):
        back = prepare_interactions(raw, seed=seed)[0]
        assert back["split"].tolist() == [r[2] for r in ROWS]


def test_inter_file_text(tmp_path):
    inter, user_ids, item_ids, features = prepared()
    export_mmrec(tmp_path / "out", "toy", inter, user_ids, item_ids, features)
    lines = (tmp_path / "out" / "toy.inter").read_text().split("\n")
    assert lines[:8] == [
        "userID\titemID\trating\ttimestamp\tx_label",
        "0\t0\t1\t100\t2",
        "0\t1\t1\t105\t0",
        "0\t2\t1\t110\t0",
        "0\t3\t1\t120\t1",
        "1\t1\t1\t1600000000123\t0",
        "1\t4\t1\t0\t1",
        "1\t0\t1\t202.5\t2",
    ]
    assert (tmp_path / "out" / "u_id_mapping.csv").read_text().split("\n")[:2] == ["user_id\tuserID", "A2X\t0"]
    assert (tmp_path / "out" / "i_id_mapping.csv").read_text().split("\n")[:2] == ["asin\titemID", "B000\t0"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "i_id_mapping.csv", "image_feat.npy", "text_feat.npy", "toy.inter", "u_id_mapping.csv"]


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_wrong_feature_rows_keep_previous_export(tmp_path):
    inter, user_ids, item_ids, features = prepared()
    out = tmp_path / "out"
    export_mmrec(out, "toy", inter, user_ids, item_ids, features)
    before = snapshot(out)
    bad = {**features, "text": np.zeros((4, 3), dtype=np.float32)}
    with pytest.raises(ValueError, match=r"'text'.*\(4, 3\).*5 rows"):
        export_mmrec(out, "toy", inter, user_ids, item_ids, bad)
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left behind


def test_failure_while_writing_keeps_previous_export(tmp_path, monkeypatch):
    inter, user_ids, item_ids, features = prepared()
    out = tmp_path / "out"
    export_mmrec(out, "toy", inter, user_ids, item_ids, features)
    before = snapshot(out)

    def broken_save(*args, **kwargs):  # fails after the .inter file is already staged
        raise OSError("disk full")

    monkeypatch.setattr(export_module.np, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        export_mmrec(out, "toy", inter.iloc[::-1], user_ids, item_ids, features)
    monkeypatch.undo()
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_rejects_what_mmrec_cannot_hold(tmp_path):
    inter, user_ids, item_ids, features = prepared()
    # The last item has no interaction: the reader would infer 4 items, not 5.
    with pytest.raises(ValueError, match="item 4 has no interaction"):
        export_mmrec(tmp_path / "a", "toy", inter[inter["item"] != 4], user_ids, item_ids, features)
    tabbed = item_ids.assign(original=["B\t0", "B1", "B2", "B3", "B4"])
    with pytest.raises(ValueError, match="tab or line break"):
        export_mmrec(tmp_path / "b", "toy", inter, user_ids, tabbed, features)
    with pytest.raises(ValueError, match="split"):
        export_mmrec(tmp_path / "c", "toy", inter.assign(split=3), user_ids, item_ids, features)
    assert not any(tmp_path.iterdir())
