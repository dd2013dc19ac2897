"""Input files that are not what they should be: ids far beyond the row count, repeated pairs and
pairs in two splits, files that are not what their names say. Each is refused (or reported)
with a message naming the file, and earlier outputs stay as they were."""
from __future__ import annotations

import hashlib
import logging

import numpy as np
import pytest
from click.testing import CliRunner
from kedro.framework.startup import bootstrap_project

from datagen import write_mmrec
from siger_kedro.cli import run
from siger_kedro.data.errors import DataFormatError
from siger_kedro.data.prepare import prepare_interactions
from siger_kedro.data.raw import read_raw_folder
from siger_kedro.storage import load_arrays

HEADER = "userID\titemID\trating\ttimestamp\tx_label"


def _inter(folder, rows: list[str]):
    (folder / "mini.inter").write_text("\n".join([HEADER, *rows]) + "\n")


def test_an_id_far_beyond_the_row_count_is_refused_with_its_line(tmp_path):
    folder = write_mmrec(tmp_path / "mini", modalities={})
    lines = (folder / "mini.inter").read_text().splitlines()
    lines[5] = "3\t1000000000000\t5\t1\t0"  # line 6 of the file
    (folder / "mini.inter").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError) as e:
        read_raw_folder(folder, "mini")
    assert str(e.value) == (f"{folder / 'mini.inter'}: line 6, column 'itemID': id 1000000000000 is far larger "
                            "than the file's 160 rows allow (1 such row(s); expected 0-based contiguous ids, "
                            "all below 2600)")
    lines[5] = "999999\t1\t5\t1\t0"
    (folder / "mini.inter").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"line 6, column 'userID': id 999999 is far larger"):
        read_raw_folder(folder, "mini")


def test_ids_with_gaps_are_still_read(tmp_path):
    _inter(tmp_path, ["0\t0\t5\t1\t0", "0\t40\t5\t1\t2"])  # 41 items from 2 rows: a gap, not an overflow
    assert read_raw_folder(tmp_path, "mini").interactions["item"].tolist() == [0, 40]


def test_duplicates_and_split_overlap_are_counted_and_reported(tmp_path, caplog):
    _inter(tmp_path, [
        "0\t0\t5\t1\t0", "0\t0\t5\t2\t0",  # a duplicate within train: dropped
        "0\t1\t5\t1\t0", "0\t1\t5\t1\t2",  # train and test: kept, counted
        "0\t2\t5\t1\t0", "0\t2\t5\t1\t1",  # train and valid: kept, counted
        "1\t3\t5\t1\t0", "1\t4\t5\t1\t1", "1\t5\t5\t1\t2",
    ])
    with caplog.at_level(logging.WARNING, logger="siger_kedro.data.prepare"):
        out, _, _, info = prepare_interactions(read_raw_folder(tmp_path, "mini"), seed=0)
    assert (info["n_duplicates_dropped"], info["n_train_valid_overlap"], info["n_train_test_overlap"]) == (1, 1, 1)
    assert (info["n_train"], info["n_valid"], info["n_test"]) == (4, 2, 2) and len(out) == 8
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert caplog.records[0].getMessage() == (
        f"{tmp_path}: 1 duplicate (user, item) row(s) dropped; 1 pair(s) in both train and valid, 1 in both "
        "train and test (kept as given; such held-out rows can never be hit) - counts in dataset_info.json")


def test_a_clean_file_reports_nothing_and_keeps_its_fingerprint(tmp_path, caplog):
    folder = write_mmrec(tmp_path / "mini", modalities={})
    with caplog.at_level(logging.WARNING):
        out, _, _, info = prepare_interactions(read_raw_folder(folder, "mini"), seed=0)
    assert not caplog.records and len(out) == 160
    assert (info["n_duplicates_dropped"], info["n_train_valid_overlap"], info["n_train_test_overlap"]) == (0, 0, 0)
    assert info["fingerprint"] == "e2ff7faf39eaaf86"


def test_a_text_file_named_npy_is_not_called_a_pickle(tmp_path):
    folder = write_mmrec(tmp_path / "mini")
    (folder / "text_feat.npy").write_text("0.1,0.2\n0.3,0.4\n")
    with pytest.raises(DataFormatError) as e:
        read_raw_folder(folder, "mini")
    assert str(e.value) == (f"{folder / 'text_feat.npy'} is not a .npy file: it starts with b'0.1,0.2\\n0.3,0.4\\n'; "
                            "expected a file written by numpy.save")
    np.save(folder / "text_feat.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(DataFormatError) as e:
        read_raw_folder(folder, "mini")
    assert str(e.value) == (f"{folder / 'text_feat.npy'} holds Python objects, not numbers; "
                            "expected a numeric array written by numpy.save")
    (tmp_path / "knn").mkdir()
    (tmp_path / "knn" / "image.npz").write_text("not a zip")
    with pytest.raises(DataFormatError, match=r"image\.npz is not an \.npz file: it starts with b'not a zip'; expected a file written by scipy"):
        load_arrays(tmp_path / "knn", ".npz")
    (tmp_path / "knn" / "image.npz").write_bytes(b"PK\x03\x04truncated")
    with pytest.raises(DataFormatError, match=r"image\.npz is a damaged \.npz file \(.*\); expected a file written by"):
        load_arrays(tmp_path / "knn", ".npz")


@pytest.mark.parametrize("text", ["userID,itemID,rating,timestamp,x_label\n0,0,5,1,0\n",
                                  "user_id:token,item_id:token\nu1,m1\n"])
def test_a_comma_separated_inter_file_is_called_so(tmp_path, text):
    (tmp_path / "mini.inter").write_text(text)
    with pytest.raises(DataFormatError) as e:
        read_raw_folder(tmp_path, "mini")
    header = text.split("\n")[0]
    assert str(e.value) == (f"{tmp_path / 'mini.inter'} is comma-separated, not tab-separated: its header line "
                            f"{header!r} has no tab; expected fields separated by tabs")


@pytest.mark.parametrize("header", [HEADER, "user_id:token\titem_id:token"])
def test_a_file_that_is_not_utf8_is_called_so(tmp_path, header):
    (tmp_path / "mini.inter").write_bytes(f"{header}\n0\t0\n".encode() + "0\tcafé\n".encode("latin-1"))
    with pytest.raises(DataFormatError) as e:
        read_raw_folder(tmp_path, "mini")
    assert str(e.value) == (f"{tmp_path / 'mini.inter'} is not UTF-8 text: line 3 has byte 0xe9; expected a "
                            "UTF-8 encoded text file (re-encode it, e.g. iconv -f latin1 -t utf-8)")
    (tmp_path / "mini.inter").write_bytes(b"\x93NUMPY\x01\x00binary")  # not UTF-8 from the first line
    with pytest.raises(DataFormatError, match=r"mini\.inter is not UTF-8 text: line 1 has byte 0x93"):
        read_raw_folder(tmp_path, "mini")


def _checksums(folder):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_bad_input_file_leaves_earlier_outputs_as_they_were(kedro_project):
    raw = write_mmrec(kedro_project / "data" / "01_raw" / "mini")
    bootstrap_project(kedro_project)
    invoke = lambda: CliRunner().invoke(run, ["--pipeline", "ingest", "--env", "test", "--params", "dataset=mini"])  # noqa: E731
    assert invoke().exit_code == 0
    outputs = kedro_project / "data" / "02_intermediate"
    before, good = _checksums(outputs), (raw / "mini.inter").read_bytes()
    faults = [
        (lambda: (raw / "mini.inter").write_bytes(good.replace(b"\n0\t", b"\n1000000000000\t", 1)),
         "line 2, column 'userID': id 1000000000000 is far larger than the file's 160 rows allow"),
        (lambda: (raw / "mini.inter").write_bytes(good.replace(b"\t", b",")), "is comma-separated, not tab-separated"),
        (lambda: (raw / "mini.inter").write_bytes(good + "0\t\xe9\n".encode("latin-1")), "is not UTF-8 text: line 162"),
    ]
    for fault, message in faults:
        fault()
        result = invoke()
        assert result.exit_code != 0 and message in str(result.exception)
        assert _checksums(outputs) == before
