"""Each stage's pipeline run with SequentialRunner on an in-memory catalog."""
from __future__ import annotations

import numpy as np
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from datagen import write_atomic, write_mmrec
from siger_kedro.data.raw import read_raw_folder
from siger_kedro.graphs.consistent_knn import consistent_knn_graphs
from siger_kedro.graphs.normalize import normalize_square
from siger_kedro.pipelines import features, graphs, ingest
from siger_kedro.pipelines.model import model_pipeline
from siger_kedro.training.runs import RunStore

PARAMS = {
    "params:ingest": {"split_seed": 7},
    "params:features": {"modalities": {"atomic": {"genre": {"kind": "multi_hot", "column": "class"}}}},
    "params:graphs.cooccurrence_k": 3, "params:graphs.knn_k": 4, "params:graphs.knn_backend": "exact",
    "params:graphs.beta": 0.3,
    "params:training": {
        "seed": 1, "device": "cpu", "epochs": 3, "batch_size": 64, "learning_rate": 0.01,
        "patience": 5, "valid_metric": "recall@10", "modalities": None,
    },
    "params:train.settings": {"model": "siger", "hyperparameters": {"embedding_dim": 8}},
    "params:evaluation": {"ks": [5, 10], "batch_size": 7, "mask_valid_in_test": True, "recommend_k": 3},
    "params:recommend": {"k": 3, "title_columns": ["title"]},
}


class _Kept(MemoryDataset):
    """Keeps its data after the runner's release, so that a test can inspect intermediate outputs."""

    def _release(self) -> None:
        pass


def _run(pipeline, data: dict) -> DataCatalog:
    catalog = DataCatalog({k: _Kept(v) for k, v in {**PARAMS, **data}.items()})
    for name in pipeline.all_outputs():
        catalog[name] = _Kept()
    SequentialRunner().run(pipeline, catalog)
    return catalog


@pytest.fixture
def atomic_raw(tmp_path):
    return read_raw_folder(write_atomic(tmp_path / "tiny"), "tiny")


def test_ingest_reindexes_and_splits(atomic_raw):
    c = _run(ingest.create_pipeline(), {"raw_dataset": atomic_raw})
    info, inter = c.load("int_dataset_info"), c.load("int_interactions")
    assert info["n_users"] == 24 and info["n_items"] == 30
    assert inter["user"].max() == 23 and set(inter["split"]) == {0, 1, 2}
    assert len(c.load("int_items")) == 30


def test_features_and_graphs_stages(atomic_raw):
    c = _run(ingest.create_pipeline() + features.create_pipeline() + graphs.create_pipeline(),
             {"raw_dataset": atomic_raw})
    feats = c.load("feat_item_features")
    assert list(feats) == ["genre"] and feats["genre"].shape == (30, 5)
    n = 24 + 30
    adj = c.load("mi_ui_adjacency")
    assert adj.shape == (n, n) and (adj != adj.T).nnz == 0
    cooc, knn = c.load("mi_cooccurrence_graph"), c.load("mi_modality_graphs")["genre"]
    assert np.diff(cooc.indptr).max() <= 3 and cooc.diagonal().sum() == 0
    assert (np.diff(knn.indptr) == 4).all() and (knn.data > 0).all() and (knn.data <= 1).all()  # H, unnormalised
    eisg = c.load("mi_eisg")["genre"]
    assert np.allclose(eisg.toarray(), 0.3 * cooc.toarray() + 0.7 * normalize_square(knn).toarray())
    # DA-MRS's denoised graph, built once here for every trial and seed
    denoised = c.load("mi_consistent_knn")["genre"]
    assert (denoised != consistent_knn_graphs(feats, k=4)["genre"]).nnz == 0 and denoised.nnz > 0


UPSTREAM = ingest.create_pipeline() + features.create_pipeline() + graphs.create_pipeline()
MODEL = model_pipeline("train", settings="params:train.settings")


def test_training_and_evaluation_stages_on_mmrec_data(tmp_path):
    raw = read_raw_folder(write_mmrec(tmp_path / "mini"), "mini")
    c = _run(UPSTREAM + MODEL, {"raw_dataset": raw, "mo_training_runs": RunStore(tmp_path / "runs")})
    [run] = list((tmp_path / "runs").iterdir())
    assert sorted(p.name for p in run.iterdir()) == ["per_user.parquet", "result.json", "weights.pt"]  # no checkpoint left
    history, metrics = c.load("train.history"), c.load("train.metrics")
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert set(c.load("train.weights")) >= {"user_embedding", "item_embedding", "gates.image.0.weight"}
    assert {"valid_recall@10", "test_ndcg@5", "test_map@10", "test_precision@5"} <= set(metrics)
    top = c.load("train.top_k")
    assert len(top) == 20 * 3 and top["rank"].tolist()[:3] == [1, 2, 3]
    recommender = c.load("train.recommender")  # MMRec data has no titles
    assert (recommender.model, recommender.k, recommender.titles.tolist()) == ("siger", 3, [""] * 16)
    assert recommender.seen.sum() == c.load("int_dataset_info")["n_train"] + c.load("int_dataset_info")["n_valid"] + \
        c.load("int_dataset_info")["n_test"]


def test_item_without_training_interactions_is_ranked_but_has_no_edges(tmp_path):
    folder = write_mmrec(tmp_path / "mini")
    inter = folder / "mini.inter"
    lines = inter.read_text().splitlines()
    # item 15 only ever appears in test rows
    lines = [lines[0]] + [l.rsplit("\t", 1)[0] + "\t2" if l.split("\t")[1] == "15" else l for l in lines[1:]]
    inter.write_text("\n".join(lines) + "\n")
    raw = read_raw_folder(folder, "mini")
    c = _run(UPSTREAM + MODEL, {"raw_dataset": raw, "mo_training_runs": None})
    n_users = c.load("int_dataset_info")["n_users"]
    adj = c.load("mi_ui_adjacency")
    assert adj[n_users + 15].nnz == 0 and c.load("mi_cooccurrence_graph")[15].nnz == 0
    assert np.isfinite(list(c.load("train.metrics").values())).all()


def test_training_node_in_two_processes(tmp_path):
    raw = read_raw_folder(write_mmrec(tmp_path / "mini"), "mini")
    training_params = {**PARAMS["params:training"], "processes": 2, "batch_size": 16}
    pipe = UPSTREAM + MODEL.only_nodes_with_tags("training")
    c = _run(pipe, {"raw_dataset": raw, "mo_training_runs": None, "params:training": training_params})
    history = c.load("train.history")
    assert [h["epoch"] for h in history] == [1, 2, 3] and all(np.isfinite(h["train_loss"]) for h in history)
