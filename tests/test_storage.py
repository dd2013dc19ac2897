import numpy as np
import pytest
import scipy.sparse as sp

from siger_kedro.storage import atomic_path, load_arrays, save_arrays


def test_arrays_round_trip_dense_and_sparse(tmp_path):
    dense = {"image": np.arange(6, dtype=np.float32).reshape(3, 2)}
    save_arrays(tmp_path / "feat", dense, "_feat.npy")
    assert sorted(p.name for p in (tmp_path / "feat").iterdir()) == ["image_feat.npy"]
    np.testing.assert_array_equal(load_arrays(tmp_path / "feat", "_feat.npy")["image"], dense["image"])
    graphs = {"text": sp.random(4, 4, density=0.5, random_state=0, format="csr", dtype=np.float32)}
    save_arrays(tmp_path / "g", graphs, ".npz")
    assert (load_arrays(tmp_path / "g", ".npz")["text"] != graphs["text"]).nnz == 0


def test_failed_write_keeps_the_previous_folder_and_leaves_no_temporary(tmp_path):
    save_arrays(tmp_path / "feat", {"a": np.ones(2)}, ".npy")
    with pytest.raises(ValueError):  # object arrays are refused, never pickled
        save_arrays(tmp_path / "feat", {"b": np.zeros(2), "c": object()}, ".npy")
    assert sorted(p.name for p in (tmp_path / "feat").iterdir()) == ["a.npy"]
    assert [p.name for p in tmp_path.iterdir()] == ["feat"]


def test_atomic_file_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]
