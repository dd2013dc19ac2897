"""Stage caching by fingerprint: a node is skipped when the files it wrote were computed from
the same inputs, parameters and code as now.

A node's key hashes its name, the source of every project module its function depends on
(followed through imports; for a node that takes a model's settings, a parameter dict with a
`model` entry, also the code of that model's module and no other model's), the values of its
parameters and the keys of its input datasets:
the producing node's key for intermediate data, the raw dataset's own fingerprint (file names,
sizes and content hashes, each file read once: `file_digest`) for raw data. Keys therefore change downstream of any change,
and never depend on bytes another machine would compute. The key that produced each output
file is recorded in one JSON store; a node is fresh when all its outputs exist with its
current key. Works on Kedro pipelines and catalogs by duck typing: this module does not import
Kedro.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

PACKAGE = __name__.split(".")[0]


def stable_hash(value: Any) -> str:
    """sha256 of a JSON rendering with sorted keys (parameters are JSON-like)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _find(name: str):
    """The module spec of `name`, or None when it is not a module (e.g. a class imported by name)."""
    try:
        return importlib.util.find_spec(name)
    except (ImportError, AttributeError, ValueError):
        return None


def _project_imports(module: str, source: str) -> set[str]:
    """The project modules that `module`'s source imports (absolute or relative)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.rsplit(".", node.level)[0]
                base = f"{parent}.{base}" if base else parent
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        found.update(n for n in names if n.split(".")[0] == PACKAGE and _find(n))
    return found


def _source_file(name: str) -> Path | None:
    spec = _find(name)
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


def reached_modules(module: str) -> set[str]:
    """`module` and every project module it reaches through imports (written imports only: a
    module loaded with importlib from a string is invisible here)."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        source = _source_file(name)
        if source is not None:
            todo.extend(_project_imports(name, source.read_text()))
    return {name for name in seen if _source_file(name) is not None}


@lru_cache(maxsize=None)
def code_version(module: str) -> str:
    """Hash of the source of `module` and of every project module it reaches through imports."""
    digest = hashlib.sha256()
    for name in sorted(reached_modules(module)):
        digest.update(name.encode() + _source_file(name).read_bytes())
    return digest.hexdigest()


# Content hashes of raw files, remembered per path, size, modification and change times and
# inode, so that an unchanged file is not read again; in the project's data/ (runs start there).
CONTENT_HASHES = Path("data") / ".content_hashes.json"


def _content_key(path: Path) -> str:
    st = path.stat()
    return stable_hash([str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino])


def file_digests(paths: list[Path]) -> list[str]:
    """sha256 of each file's content. Remembered under its (path, size, mtime, ctime, inode):
    a restore from a backup or `touch -r` can keep the size and modification time, but any
    write changes the ctime, which nobody can set back, so changed content is always re-read."""
    store = KeyStore(CONTENT_HASHES)
    known, new, out = store.read(), {}, []
    for path in paths:
        key = _content_key(path)
        if key not in known:
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            new[key] = known[key] = digest.hexdigest()
        out.append(known[key])
    if new:
        store.update(new)
    return out


def folder_fingerprint(folder: str | Path) -> str:
    """Names, sizes and content hashes of the files under `folder`."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    entries = [(str(p.relative_to(folder)), p.stat().st_size, d) for p, d in zip(files, file_digests(files))]
    return stable_hash(entries)


def output_path(dataset: Any) -> Path | None:
    """Where a persisted dataset lives (a file or a folder); None for memory datasets."""
    for attribute in ("_filepath", "_path"):
        value = getattr(dataset, attribute, None)
        if value:
            return Path(str(value))
    return None


def _input_fingerprint(dataset: Any) -> str:
    if hasattr(dataset, "fingerprint"):
        return dataset.fingerprint()
    path = output_path(dataset)
    if path is not None and path.exists():
        return folder_fingerprint(path) if path.is_dir() else stable_hash(file_digests([path]))
    return stable_hash(str(dataset))


def _model_modules(value: Any) -> list[str]:
    """The model module a settings dict names (`{"model": "freedom", ...}`), if it is one."""
    if isinstance(value, dict) and isinstance(value.get("model"), str):
        name = f"{PACKAGE}.models.{value['model']}"
        if _source_file(name) is not None:
            return [name]
    return []


def node_keys(nodes: Iterable[Any], catalog: Any) -> dict[str, str]:
    """Key of every node, in topological order (`nodes` as Kedro's Pipeline.nodes gives them)."""
    produced: dict[str, str] = {}
    keys: dict[str, str] = {}
    for node in nodes:
        inputs, code = {}, [code_version(node.func.__module__)]
        for name in node.inputs:
            if name in produced:
                inputs[name] = produced[name]
            elif name.startswith("params:") or name == "parameters":
                value = catalog.load(name)
                inputs[name] = stable_hash(value)
                code += [code_version(m) for m in _model_modules(value)]
            else:
                inputs[name] = _input_fingerprint(catalog[name])
        key = stable_hash([node.name, code, inputs])
        keys[node.name] = key
        for out in node.outputs:
            produced[out] = stable_hash([key, out])
    return keys


class KeyStore:
    """Output path -> key of the node run that wrote it (or any name -> value), in one JSON file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def read(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}  # a missing or damaged store only costs a recomputation

    def record(self, paths: Iterable[Path], key: str) -> None:
        self.update({str(p): key for p in paths})

    def update(self, entries: dict[str, str]) -> None:
        store = self.read()
        store.update(entries)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(store, indent=1, sort_keys=True))
        os.replace(tmp, self.path)

    def fresh(self, paths: list[Path | None], key: str) -> bool:
        if not paths or any(p is None for p in paths):
            return False  # an unpersisted output cannot be reused
        store = self.read()
        return all(p.exists() and store.get(str(p)) == key for p in paths)


def stale_nodes(nodes: list[Any], catalog: Any, store: KeyStore) -> tuple[list[str], dict[str, str]]:
    """Names of the nodes whose outputs are missing or were computed with another key, and
    every node's key."""
    keys = node_keys(nodes, catalog)
    stale = [n.name for n in nodes
             if not store.fresh([output_path(catalog[o]) for o in n.outputs], keys[n.name])]
    return stale, keys
