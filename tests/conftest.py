import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project_root() -> Path:
    return ROOT


@pytest.fixture
def kedro_project(tmp_path, monkeypatch) -> Path:
    """A copy of the project's configuration in tmp_path, which is also the working directory,
    so that data/, mlflow.db and the MLflow artifacts of a test run stay there."""
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "src").mkdir()  # bootstrap_project wants it; the package itself is installed
    # An absolute store: MLflow caches its SQLite engine by URI, so the relative default
    # would keep writing to the first test's file.
    mlflow_yml = tmp_path / "conf" / "base" / "mlflow.yml"
    mlflow_yml.write_text(mlflow_yml.read_text().replace(
        "sqlite:///mlflow.db", f"sqlite:///{tmp_path / 'mlflow.db'}"))
    monkeypatch.chdir(tmp_path)
    return tmp_path
