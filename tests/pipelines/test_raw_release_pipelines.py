"""Raw Amazon 2014 and MicroLens releases end to end into training, through Kedro."""
import json

import numpy as np
import pandas as pd
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from datagen import write_amazon, write_microlens


def _train(project, dataset):
    bootstrap_project(project)
    with KedroSession.create(project_path=project, env="test", runtime_params={"dataset": dataset}) as s:
        s.run(pipeline_names=["train"])
    data = project / "data"
    feats = {p.name: np.load(p) for p in (data / "04_feature" / dataset).iterdir()}
    info = json.loads((data / "02_intermediate" / dataset / "dataset_info.json").read_text())
    metrics = json.loads((data / "08_reporting" / dataset / "siger" / "metrics.json").read_text())
    return feats, info, metrics


def test_amazon_reviews_meta_and_b_file_train(kedro_project):
    write_amazon(kedro_project / "data" / "01_raw" / "toys")
    feats, info, metrics = _train(kedro_project, "toys")
    assert info["format"] == "amazon" and info["n_items"] == 20 and info["n_users"] == 24
    assert feats["image_feat.npy"].shape == (20, 4096) and feats["text_feat.npy"].shape == (20, 384)
    image = feats["image_feat.npy"]
    # the two items without a .b record get the mean vector of the 18 that have one
    item_ids = pd.read_parquet(kedro_project / "data" / "02_intermediate" / "toys" / "item_ids.parquet")
    row = dict(zip(item_ids["original"], item_ids["item"]))
    missing = [row["B000000018"], row["B000000019"]]
    present = [r for r in range(20) if r not in missing]
    np.testing.assert_allclose(image[missing], np.tile(image[present].mean(0), (2, 1)), rtol=1e-5)
    assert 0.0 <= metrics["test_recall@20"] <= 1.0


def test_microlens_pairs_titles_and_covers_train(kedro_project):
    write_microlens(kedro_project / "data" / "01_raw" / "mlens")
    feats, info, metrics = _train(kedro_project, "mlens")
    assert info["format"] == "microlens"
    image = feats["image_feat.npy"]
    assert image.shape == (20, 1280) and np.isfinite(image).all()
    # the corrupt and the missing cover both get the mean of the 18 encoded ones
    rows = {tuple(r) for r in np.round(image, 5)}
    assert len(rows) == 19
    assert 0.0 <= metrics["test_ndcg@10"] <= 1.0
