"""The device check runs (on the CPU, as CI has no GPU) from a bundle of real stage outputs."""
from __future__ import annotations

import json

from datagen import write_atomic
from projects import run_pipeline
from siger_kedro.bench import device


def test_device_check_bundles_the_stage_outputs_and_reports_each_model(kedro_project, capsys):
    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    for stage in ("ingest", "features", "graphs"):
        run_pipeline(kedro_project, stage)
    bundle = device.make_bundle(kedro_project / "data", "tiny", kedro_project / ".device" / "bundle")
    assert (bundle / "features" / "genre_feat.npy").is_file() and (bundle / "graphs" / "eisg").is_dir()

    out = kedro_project / "device.json"
    report = device.main(["run", "--bundle", str(bundle), "--device", "cpu", "--epochs", "2",
                          "--synthetic", "3000", "--knn-items", "500", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert report["dataset"]["n_users"] == 24 and report["dataset"]["modalities"] == ["genre", "text"]
    for model in device.MODELS:
        run = report["models"][model]["run"]
        assert len(run["loss"]) == len(run["valid_recall@20"]) == 2 and run["evaluation_seconds"] > 0
        assert "cpu" not in report["models"][model]  # the reference run is only for another device
        bf16 = report["models"][model]["bf16"]
        assert len(bf16["loss"]) == 2 and report["models"][model]["bf16_agreement"]["max_relative_loss_difference"] < 0.05
    synthetic = report["synthetic"]
    assert synthetic["interactions"] == 3000 and synthetic["lightgcn"]["mean_epoch_seconds"] > 0
    knn = report["knn"]
    assert knn["n_items"] == 500 and knn["seconds"] > 0 and knn["neighbour_overlap_with_float64"] > 0.99
    printed = capsys.readouterr().out
    assert "device check on cpu" in printed and "siger" in printed and "synthetic" in printed and "exact kNN" in printed


def test_agreement_flags_curves_that_differ():
    reference = {"loss": [1.0, 0.5], "valid_recall@20": [0.1, 0.2]}
    close = {"loss": [1.001, 0.5], "valid_recall@20": [0.1, 0.205]}
    far = {"loss": [1.2, 0.5], "valid_recall@20": [0.1, 0.2]}
    assert device.agreement(close, reference, 0.02)["within_tolerance"]
    assert not device.agreement(far, reference, 0.02)["within_tolerance"]
