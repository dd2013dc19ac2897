from pathlib import Path

import numpy as np

from siger_kedro.data.prepare import prepare_interactions
from siger_kedro.data.raw import read_raw_folder

# userID itemID rating timestamp x_label; n_items = 5 (max itemID 4), n_users = 3
ROWS = [
    (0, 0, 5, 100, 0), (0, 1, 4, 101, 0), (0, 2, 3, 102, 1), (0, 3, 5, 103, 2),
    (1, 1, 5, 200, 0), (1, 4, 5, 201, 2), (1, 0, 5, 202, 1),
    (2, 2, 4, 300, 0), (2, 3, 4, 301, 0),
]


def write_folder(folder: Path, name: str = "mini") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["userID\titemID\trating\ttimestamp\tx_label"] + ["\t".join(map(str, r)) for r in ROWS]
    (folder / f"{name}.inter").write_text("\n".join(lines) + "\n")
    np.save(folder / "text_feat.npy", np.arange(5 * 3, dtype=np.float64).reshape(5, 3))
    np.save(folder / "image_feat.npy", np.ones((5, 4), dtype=np.float32))
    (folder / "i_id_mapping.csv").write_text("asin\titemID\n" + "".join(f"B{i:03d}\t{i}\n" for i in range(5)))
    return folder


def test_reads_mmrec_and_keeps_x_label(tmp_path):
    raw = read_raw_folder(write_folder(tmp_path / "mini"), "mini")
    assert raw.format == "mmrec"
    assert raw.interactions["user"].tolist() == [r[0] for r in ROWS]
    assert raw.interactions["item"].tolist() == [r[1] for r in ROWS]
    assert raw.interactions["split"].tolist() == [r[4] for r in ROWS]
    assert raw.interactions["timestamp"].tolist() == [float(r[3]) for r in ROWS]
    # Features keyed by modality, sorted, float32.
    assert list(raw.features) == ["image", "text"]
    assert raw.features["text"].dtype == np.float32 and raw.features["text"].shape == (5, 3)
    assert raw.item_ids["original"].tolist() == [f"B{i:03d}" for i in range(5)]
    assert raw.user_ids is None


def test_prepare_mmrec_does_not_resplit(tmp_path):
    raw = read_raw_folder(write_folder(tmp_path / "mini"), "mini")
    inter, user_ids, item_ids, info = prepare_interactions(raw, seed=123)
    assert inter["split"].tolist() == [r[4] for r in ROWS]  # the seed plays no part
    assert inter["split"].dtype == np.int8 and inter["user"].dtype == np.int64
    assert (info["n_users"], info["n_items"]) == (3, 5)
    assert (info["n_train"], info["n_valid"], info["n_test"]) == (5, 2, 2)
    assert info["n_duplicates_dropped"] == 0
    assert user_ids["original"].tolist() == ["0", "1", "2"]  # identity without u_id_mapping.csv
    assert item_ids["original"].tolist() == [f"B{i:03d}" for i in range(5)]
    assert len(info["fingerprint"]) == 16
    assert prepare_interactions(raw, seed=5)[3]["fingerprint"] == info["fingerprint"]


def test_prepare_drops_heldout_rows_of_users_without_train(tmp_path):
    folder = write_folder(tmp_path / "mini")
    with open(folder / "mini.inter", "a") as f:
        f.write("3\t0\t5\t400\t1\n3\t1\t5\t401\t2\n")  # user 3: valid + test, no train
    inter, user_ids, _, info = prepare_interactions(read_raw_folder(folder, "mini"), seed=0)
    assert 3 not in inter["user"].tolist()
    assert (info["n_train"], info["n_valid"], info["n_test"]) == (5, 2, 2)
    assert info["n_users"] == 4  # ids are kept as given
