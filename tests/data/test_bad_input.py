from pathlib import Path

import numpy as np
import pytest

from siger_kedro.data.errors import DataFormatError
from siger_kedro.data.prepare import prepare_interactions
from siger_kedro.data.raw import read_raw_folder

HEADER = "userID\titemID\trating\ttimestamp\tx_label"


def write(folder: Path, text: str, name: str = "baby") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.inter").write_text(text)
    return folder


def test_missing_folder_and_file(tmp_path):
    with pytest.raises(DataFormatError, match=r"nope: dataset folder not found.*baby\.inter"):
        read_raw_folder(tmp_path / "nope", "baby")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match=r"empty/baby\.inter: file not found"):
        read_raw_folder(tmp_path / "empty", "baby")


def test_missing_column(tmp_path):
    folder = write(tmp_path / "baby", "userID\trating\tx_label\n0\t5\t0\n")
    with pytest.raises(DataFormatError) as e:
        read_raw_folder(folder, "baby")
    assert str(e.value).startswith(f"{folder / 'baby.inter'}: missing column 'itemID' "
                                   "(expected columns userID, itemID, x_label")


def test_missing_atomic_field(tmp_path):
    folder = write(tmp_path / "ml", "user_id:token\trating:float\nu1\t3\n", name="ml")
    with pytest.raises(DataFormatError, match=r"ml\.inter: missing field 'item_id' \(expected fields user_id:token, item_id:token"):
        read_raw_folder(folder, "ml")


def test_non_integer_id_names_line(tmp_path):
    folder = write(tmp_path / "baby", f"{HEADER}\n0\t1\t5\t1\t0\n0\tB00X\t5\t1\t0\n")
    with pytest.raises(DataFormatError, match=r"baby\.inter: line 3, column 'itemID': 'B00X' is not an integer"):
        read_raw_folder(folder, "baby")


def test_negative_id_and_bad_label(tmp_path):
    folder = write(tmp_path / "baby", f"{HEADER}\n-1\t1\t5\t1\t0\n")
    with pytest.raises(DataFormatError, match=r"line 2, column 'userID': -1 is negative"):
        read_raw_folder(folder, "baby")
    write(folder, f"{HEADER}\n0\t1\t5\t1\t0\n0\t2\t5\t1\t3\n")
    with pytest.raises(DataFormatError, match=r"line 3, column 'x_label': 3 is not a split label"):
        read_raw_folder(folder, "baby")


def test_feature_row_count_mismatch(tmp_path):
    folder = write(tmp_path / "baby", f"{HEADER}\n0\t0\t5\t1\t0\n0\t6\t5\t1\t2\n")  # 7 items
    np.save(folder / "image_feat.npy", np.zeros((6, 4), dtype=np.float32))
    with pytest.raises(DataFormatError) as e:
        read_raw_folder(folder, "baby")
    assert str(e.value).startswith(f"{folder}/image_feat.npy has 6 rows but the dataset has 7 items")


def test_nan_features(tmp_path):
    folder = write(tmp_path / "baby", f"{HEADER}\n0\t0\t5\t1\t0\n0\t2\t5\t1\t2\n")
    text = np.zeros((3, 2), dtype=np.float32)
    text[1, 0] = np.nan
    text[2, 1] = np.inf
    np.save(folder / "text_feat.npy", text)
    with pytest.raises(DataFormatError, match=r"text_feat\.npy has 2 NaN or Inf values in 2 rows \(first rows: 1, 2\)"):
        read_raw_folder(folder, "baby")


def test_empty_split(tmp_path):
    folder = write(tmp_path / "baby", f"{HEADER}\n0\t0\t5\t1\t0\n0\t1\t5\t1\t1\n")  # no x_label 2
    raw = read_raw_folder(folder, "baby")
    with pytest.raises(DataFormatError, match=r"dataset 'baby' \(.*baby\) has no test interactions after splitting; expected at least one"):
        prepare_interactions(raw, seed=0)


def test_extra_field_in_a_row(tmp_path):
    for body in ("0\t1\t5\t1\t0\t9\n", "0\t1\t5\t1\t0\n0\t1\t5\t1\t0\t9\n"):
        folder = write(tmp_path / "baby", f"{HEADER}\n{body}")
        with pytest.raises(DataFormatError, match=r"baby\.inter: malformed tab-separated file"):
            read_raw_folder(folder, "baby")
