"""`kedro run --pipeline export_mmrec`, and reading the export back as a dataset."""
import numpy as np
import pandas as pd
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from datagen import write_atomic
from siger_kedro.data.prepare import prepare_interactions
from siger_kedro.pipelines.datasets import ArrayFolderDataset


def test_export_reads_back_identically_and_trains_as_mmrec(kedro_project):
    write_atomic(kedro_project / "data" / "01_raw" / "tiny")
    bootstrap_project(kedro_project)
    with KedroSession.create(project_path=kedro_project, env="test", runtime_params={"dataset": "tiny"}) as s:
        s.run(pipeline_names=["export_mmrec"])

    export = kedro_project / "data" / "03_primary" / "tiny" / "mmrec"
    assert sorted(p.name for p in export.iterdir()) == [
        "genre_feat.npy", "i_id_mapping.csv", "text_feat.npy", "tiny.inter", "u_id_mapping.csv"]
    # the export is itself a raw MMRec dataset: same interactions, split and features
    from siger_kedro.data.raw import read_raw_folder
    again, users, items, info = prepare_interactions(read_raw_folder(export, "tiny"), seed=0)
    before = pd.read_parquet(kedro_project / "data" / "02_intermediate" / "tiny" / "interactions.parquet")
    pd.testing.assert_frame_equal(again[["user", "item", "split"]], before[["user", "item", "split"]],
                                  check_dtype=False)
    features = ArrayFolderDataset(str(kedro_project / "data" / "04_feature" / "tiny"), "_feat.npy").load()
    for m in ("text", "genre"):
        assert np.array_equal(np.load(export / f"{m}_feat.npy"), features[m])
    assert users["original"].tolist()[:2] == ["u0", "u1"]
