from pathlib import Path

import pytest

from projects import ROOT, make_project


@pytest.fixture
def project_root() -> Path:
    return ROOT


@pytest.fixture
def kedro_project(tmp_path, monkeypatch) -> Path:
    """A project in tmp_path, which is also the working directory."""
    monkeypatch.chdir(tmp_path)
    return make_project(tmp_path)
