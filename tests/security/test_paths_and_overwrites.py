"""Nothing is written outside data/, no folder of someone else's is replaced, and a run with
nothing valid to write overwrites nothing."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
from click.testing import CliRunner
from kedro.framework.startup import bootstrap_project

from datagen import write_atomic
from siger_kedro.cli import run
from siger_kedro.paths import check_name
from siger_kedro.storage import save_arrays


def _invoke(*params: str):
    return CliRunner().invoke(run, ["--pipeline", "train", "--env", "test", "--params", ",".join(params)])


def _checksums(folder):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", ["../../../somewhere/else", "a/b", "..", ".hidden", "", "x" * 101, "tiny;rm"])
def test_a_dataset_name_is_one_folder_name(name):
    with pytest.raises(ValueError, match="is not a folder name"):
        check_name("dataset", name)
    assert check_name("dataset", "ml-100k") == "ml-100k" and check_name("dataset", "Baby_2014.v2")


def test_an_escaping_dataset_or_model_name_writes_nothing(kedro_project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "keep.txt").write_text("mine")
    bootstrap_project(kedro_project)
    escape = "../" * 8 + str(outside).lstrip("/")
    for params, message in (([f"dataset={escape}"], "dataset '../.* is not a folder name"),
                            (["dataset=tiny", f"train.model={escape}"], "train.model: unknown model '../")):
        result = _invoke(*params)
        assert result.exit_code != 0
        with pytest.raises(ValueError, match=message):
            raise result.exception
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"] and (outside / "keep.txt").read_text() == "mine"
    assert not (kedro_project / "data").exists()


def test_a_folder_dataset_never_replaces_a_folder_holding_other_files(tmp_path):
    folder = tmp_path / "knn"
    save_arrays(folder, {"a": np.zeros(2)}, ".npy")
    save_arrays(folder, {"b": np.ones(2)}, ".npy")  # its own files: replaced
    assert sorted(p.name for p in folder.iterdir()) == ["b.npy"]
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"knn holds notes.txt, which this dataset does not write"):
        save_arrays(folder, {"c": np.ones(2)}, ".npy")
    assert sorted(p.name for p in folder.iterdir()) == ["b.npy", "notes.txt"]


def test_a_bad_epoch_count_overwrites_no_trained_weights(kedro_project):
    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    bootstrap_project(kedro_project)
    assert _invoke("dataset=tiny").exit_code == 0
    before = _checksums(kedro_project / "data")
    result = _invoke("dataset=tiny", "training.epochs=-1")
    assert result.exit_code != 0 and "training.epochs: -1 is not allowed" in str(result.exception)
    after = _checksums(kedro_project / "data")
    assert {p: c for p, c in after.items() if p.name != ".cache_keys.json"} == \
        {p: c for p, c in before.items() if p.name != ".cache_keys.json"}


def test_training_itself_refuses_a_bad_epoch_count_when_called_without_the_schema(tmp_path):
    from siger_kedro.training.runs import TrainingJob, train_model
    from siger_kedro.training.trainer import TrainConfig

    job = TrainingJob(None, "lightgcn", {}, TrainConfig(epochs=-1), {})
    with pytest.raises(ValueError, match="training.epochs must be a positive integer, got -1"):
        train_model(job)
