"""Atomic writes (a reader never sees a half-written file, and a failed write keeps the old
one), and loading tensors from files that are data, never code."""
from __future__ import annotations

import os
import pickle
import re
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import scipy.sparse as sp
import torch

from .data.errors import DataFormatError


@contextmanager
def atomic_path(target: str | Path, is_dir: bool = False,
                owned: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `target` to write to; it replaces `target` on success and
    is removed on failure. A folder is only replaced when every entry in it is one this writer
    makes (`owned(entry)`): a folder that holds anything else is refused before writing."""
    target = Path(target)
    if is_dir and target.is_dir():
        foreign = sorted(p.name for p in target.iterdir() if not (owned and owned(p)))
        if foreign:
            raise FileExistsError(f"{target} holds {', '.join(foreign[:3])}, which this dataset does not write: "
                                  "refusing to replace the folder (move those files, or choose another path)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staged = tmp / target.name
    try:
        if is_dir:
            staged.mkdir()
        yield staged
        if is_dir and target.exists():  # os.replace cannot swap a non-empty folder
            old = tmp / "previous"
            os.replace(target, old)
        os.replace(staged, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def save_arrays(folder: str | Path, arrays: dict[str, np.ndarray | sp.spmatrix], suffix: str) -> None:
    """Write each array as `<key><suffix>` (.npy for dense, .npz for sparse) in one new folder."""
    owned = lambda p: p.is_file() and p.name.endswith(suffix)  # noqa: E731
    with atomic_path(folder, is_dir=True, owned=owned) as tmp:
        for key, value in arrays.items():
            if sp.issparse(value):
                sp.save_npz(tmp / f"{key}{suffix}", sp.csr_matrix(value))
            else:
                np.save(tmp / f"{key}{suffix}", np.asarray(value), allow_pickle=False)


def load_arrays(folder: str | Path, suffix: str) -> dict[str, np.ndarray | sp.csr_matrix]:
    folder = Path(folder)
    return {path.name[: -len(suffix)]: load_array(path) for path in sorted(folder.glob(f"*{suffix}"))}


# Per array suffix: the file's first bytes, its name in an error, and what writes it.
ARRAY_FILES = {".npy": (b"\x93NUMPY", "a .npy file", "numpy.save"),
               ".npz": (b"PK\x03\x04", "an .npz file", "scipy.sparse.save_npz")}


def load_array(path: str | Path) -> np.ndarray | sp.csr_matrix:
    """A dense `.npy` array of numbers or a sparse `.npz` matrix. A file that is not one is refused
    saying what it is not: numpy's own message for it would suggest loading it as a pickle."""
    path = Path(path)
    magic, kind, writer = ARRAY_FILES[path.suffix]
    with open(path, "rb") as f:
        head = f.read(16)
    if not head.startswith(magic):
        raise DataFormatError(f"{path} is not {kind}: it starts with {head!r}; expected a file written by {writer}")
    try:
        return sp.load_npz(path).tocsr() if path.suffix == ".npz" else np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        if "allow_pickle" in str(e):  # an array of Python objects: its data is a pickle
            raise DataFormatError(f"{path} holds Python objects, not numbers; expected a numeric "
                                  f"array written by {writer}") from None
        raise DataFormatError(f"{path} is a damaged {kind[kind.index(' ') + 1:]} ({e}); expected a file "
                              f"written by {writer}") from None


class UntrustedFile(RuntimeError):
    """A file that should hold tensors holds objects that only code could rebuild."""


def load_tensors(source, what: str):
    """`torch.load` of tensors and plain values only (weights, checkpoints, a worker's result):
    anything else is refused with this error instead of being run (docs/security.md)."""
    try:
        return torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        named = f" (it names {found.group(1)})" if found else ""
        raise UntrustedFile(
            f"{what} holds objects other than tensors and plain values{named}, which could run code "
            "when loaded: refused. This project never writes such a file; delete it if you did not "
            "put it there on purpose.") from None
