"""Names that become paths: a dataset or model name is one folder name from a safe alphabet,
and every path the catalog writes lies under the project's `data/` (docs/security.md)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
PATH_KEYS = ("filepath", "path")


def check_name(kind: str, value: Any) -> str:
    """`value` as one folder name, or an error naming the parameter and what is allowed."""
    name = str(value)
    if not SAFE_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"{kind} {name!r} is not a folder name: use letters, digits, '.', '_' and '-' "
                         "(at most 100, starting with a letter or digit): it becomes a folder under data/<layer>/")
    return name


def _paths(entry: Any):
    if isinstance(entry, dict):
        for key, value in entry.items():
            if key in PATH_KEYS and isinstance(value, str):
                yield value
            else:
                yield from _paths(value)


def check_catalog_paths(catalog: dict[str, Any], project: Path) -> None:
    """Every file or folder of the catalog lies under `project`/data."""
    data = (project / "data").resolve()
    for name, entry in catalog.items():
        for value in _paths(entry):
            path = Path(value) if Path(value).is_absolute() else project / value
            if not path.resolve().is_relative_to(data):
                raise ValueError(f"catalog entry {name!r} would write {value}, outside {data}: refused. "
                                 "Check the dataset and model names (--params dataset=..., train.model=...).")
