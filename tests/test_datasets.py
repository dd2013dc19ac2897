import numpy as np
import pytest
import scipy.sparse as sp
import torch
from kedro.io import DatasetError

from datagen import write_mmrec
from siger_kedro.data.errors import DataFormatError
from siger_kedro.datasets import ArrayFolderDataset, RawRecsysDataset, SparseMatrixDataset, TorchStateDataset


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
