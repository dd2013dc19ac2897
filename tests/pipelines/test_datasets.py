import numpy as np
import pytest
import scipy.sparse as sp
import torch
from kedro.io import DatasetError

from datagen import write_mmrec
from siger_kedro.pipelines.datasets import ArrayFolderDataset, RawRecsysDataset, SparseMatrixDataset, TorchStateDataset


def test_raw_dataset_reads_a_local_folder(tmp_path):
    write_mmrec(tmp_path / "mini")
    raw = RawRecsysDataset("mini", path=str(tmp_path)).load()
    assert raw.format == "mmrec" and sorted(raw.features) == ["image", "text"]


def test_raw_dataset_falls_back_to_the_packaged_movielens(tmp_path):
    raw = RawRecsysDataset("ml-100k", path=str(tmp_path)).load()
    assert raw.format == "atomic" and len(raw.interactions) == 100_000


def test_missing_raw_folder_names_the_path_and_the_expected_files(tmp_path):
    with pytest.raises(DatasetError, match=r"baby: no such folder.*baby\.inter"):
        RawRecsysDataset("baby", path=str(tmp_path)).load()
    with pytest.raises(DatasetError, match="read-only"):
        RawRecsysDataset("baby", path=str(tmp_path)).save(object())


def test_sparse_and_state_datasets_round_trip(tmp_path):
    m = sp.random(5, 5, density=0.4, random_state=0, format="csr", dtype=np.float32)
    ds = SparseMatrixDataset(str(tmp_path / "g.npz"))
    ds.save(m)
    assert ds.exists() and (ds.load() != m).nnz == 0
    state = {"w": torch.arange(3.0)}
    ts = TorchStateDataset(str(tmp_path / "w.pt"))
    ts.save(state)
    assert torch.equal(ts.load()["w"], state["w"])


def test_array_folder_dataset_uses_mmrec_feature_names(tmp_path):
    ds = ArrayFolderDataset(str(tmp_path / "feat"), suffix="_feat.npy")
    assert not ds.exists()
    ds.save({"text": np.ones((2, 3), dtype=np.float32)})
    assert (tmp_path / "feat" / "text_feat.npy").exists() and ds.load()["text"].shape == (2, 3)


def test_full_disk_fails_the_save_and_keeps_the_previous_output(tmp_path, monkeypatch):
    import errno

    ds = ArrayFolderDataset(str(tmp_path / "feat"), suffix="_feat.npy")
    ds.save({"text": np.ones((2, 3), dtype=np.float32)})

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", disk_full)
    with pytest.raises(DatasetError, match="No space left on device"):
        ds.save({"text": np.zeros((2, 3), dtype=np.float32), "image": np.zeros((2, 4), dtype=np.float32)})
    monkeypatch.undo()
    assert list(ds.load()) == ["text"] and ds.load()["text"].sum() == 6
    assert [p.name for p in tmp_path.iterdir()] == ["feat"]  # no temporary left behind


def test_unwritable_output_location_names_the_path(tmp_path):
    blocker = tmp_path / "06_models"
    blocker.write_text("a file where a folder is expected")
    ds = TorchStateDataset(str(blocker / "tiny" / "w.pt"))
    with pytest.raises(Exception, match="06_models"):
        ds.save({"w": torch.zeros(1)})
    assert blocker.read_text().startswith("a file")
