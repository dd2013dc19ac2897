"""One project trained once (tiny atomic data, `train` in the test environment, tracked in its
own MLflow store) for every test of what a user does with a trained model: recommend, the
MLflow model, the model server, the tracking server, kedro-viz and the notebooks."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from projects import make_project, run_pipeline
from datagen import write_atomic


@pytest.fixture(scope="package")
def trained_project(tmp_path_factory) -> Path:
    """A project whose `train` pipeline has run; the working directory while a test uses it."""
    project = make_project(tmp_path_factory.mktemp("served"))
    write_atomic(project / "data" / "01_raw" / "tiny")
    before = os.getcwd()
    os.chdir(project)
    try:
        run_pipeline(project, "train")
        # the tiny dataset is the project's own, for what runs outside `run_pipeline` (kedro viz,
        # the notebooks): conf/local, where a user chooses theirs
        (project / "conf" / "local" / "globals.yml").write_text("dataset: tiny\nmodel: siger\n")
        yield project
    finally:
        os.chdir(before)


@pytest.fixture
def in_trained_project(trained_project, monkeypatch) -> Path:
    monkeypatch.chdir(trained_project)
    return trained_project
