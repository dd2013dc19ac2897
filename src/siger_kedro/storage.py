"""Atomic writes: a reader never sees a half-written file, and a failed write keeps the old one."""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import scipy.sparse as sp


@contextmanager
def atomic_path(target: str | Path, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `target` to write to; it replaces `target` on success and
    is removed on failure."""
    target = Path(target)
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
    with atomic_path(folder, is_dir=True) as tmp:
        for key, value in arrays.items():
            if sp.issparse(value):
                sp.save_npz(tmp / f"{key}{suffix}", sp.csr_matrix(value))
            else:
                np.save(tmp / f"{key}{suffix}", np.asarray(value), allow_pickle=False)


def load_arrays(folder: str | Path, suffix: str) -> dict[str, np.ndarray | sp.csr_matrix]:
    folder = Path(folder)
    out = {}
    for path in sorted(folder.glob(f"*{suffix}")):
        key = path.name[: -len(suffix)]
        out[key] = sp.load_npz(path).tocsr() if path.suffix == ".npz" else np.load(path)
    return out
