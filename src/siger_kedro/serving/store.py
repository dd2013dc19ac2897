"""What `recommend` reads: the trained recommender a source names, and the user ids asked for."""
from __future__ import annotations

import re
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException

from ..data.errors import DataFormatError
from .mlflow_model import ARTIFACT
from .recommender import Recommender

RUN_ID = re.compile(r"[0-9a-f]{32}")


class RecommenderStore:
    """`latest`: the recommender folder the last `train` run of the model wrote; an MLflow run
    id or a `runs:/` or `models:/` URI: the MLflow model logged there (loaded as the served
    model is: mlflow.pyfunc.load_model)."""

    def __init__(self, latest: str | Path):
        self.latest = Path(latest)

    def get(self, source: str) -> Recommender:
        if source == "latest":
            if not self.latest.is_dir():
                raise FileNotFoundError(
                    f"{self.latest}: no trained recommender. Run 'kedro run --pipeline train' first (add "
                    "--params train.model=<model> for another model), or set recommend.source to an MLflow "
                    "run id of a train run or to models:/<model>-<dataset>/<version>")
            return Recommender.load(self.latest)
        uri = f"runs:/{source}/{ARTIFACT}" if RUN_ID.fullmatch(source) else source
        try:
            return mlflow.pyfunc.load_model(uri).unwrap_python_model().recommender
        except (MlflowException, OSError) as exc:
            raise LookupError(f"recommend.source {source!r}: no recommender model at {uri} in the MLflow store "
                              f"{mlflow.get_tracking_uri()} ({str(exc).splitlines()[0]})") from None


def requested_users(users, users_file: str | None, project: Path = Path(".")) -> list[str] | None:
    """Original user ids from `users` (None = every user; one id, a list, or ids separated by
    ';', ',' or white space) and from `users_file` (one id per line, under data/)."""
    ids = None
    if users is not None and str(users).strip().lower() not in ("", "all"):
        ids = [str(u) for u in users] if isinstance(users, list) else re.split(r"[;,\s]+", str(users).strip())
    if users_file:
        ids = (ids or []) + read_user_ids(users_file, project)
    return ids


def read_user_ids(path: str, project: Path = Path(".")) -> list[str]:
    """One user id per line (blank lines and lines starting with # skipped), from a file that
    lies under the project's data/."""
    data = (project / "data").resolve()
    file = (project / path).resolve()
    if not file.is_relative_to(data):
        raise ValueError(f"recommend.users_file {path}: not under {data}; put the file in data/")
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise FileNotFoundError(f"recommend.users_file {path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not a UTF-8 text file of user ids (byte {exc.start})") from None
    ids = []
    for number, line in enumerate(lines, 1):
        value = line.strip()
        if not value or value.startswith("#"):
            continue
        if any(c.isspace() for c in value) or "," in value:
            raise DataFormatError(f"{path}: line {number}: {value[:40]!r} is not one user id (one id per line)")
        ids.append(value)
    return ids
