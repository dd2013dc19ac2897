"""MovieLens-100k from RecBole's packaged copy, timed from disk to training inputs."""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from ..data.prepare import align_items, prepare_interactions
from ..data.raw import packaged_dataset_folder, read_raw_folder
from ..data.split import TEST, TRAIN
from ..features.multi_hot import multi_hot
from ..graphs.normalize import split_matrix
from .training import TrainData

TEXT_DIM = 384  # all-MiniLM-L6-v2's width; random rows stand in for the encoded titles
NOTE = ("SIGER on ML-100k uses the `genre` multi-hot modality and a random 384-d `text` "
        "modality in place of MiniLM title embeddings (encoding is benchmarked by bench.features)")


def load(device) -> tuple[dict, dict, dict[str, TrainData], sp.csr_matrix, sp.csr_matrix]:
    """(ingestion timings, graph-build timings, {"lightgcn", "siger"} inputs, train, test)."""
    folder = packaged_dataset_folder("ml-100k")
    if folder is None:
        raise RuntimeError("MovieLens-100k not found: the recbole wheel ships it; is it installed?")
    start = time.perf_counter()
    raw = read_raw_folder(folder, "ml-100k")
    read = time.perf_counter()
    interactions, _, item_ids, info = prepare_interactions(raw, seed=2024)
    done = time.perf_counter()
    ingestion = {"read_seconds": read - start, "prepare_seconds": done - read, "seconds": done - start,
                 **{k: info[k] for k in ("n_users", "n_items", "n_train", "n_valid", "n_test")}}

    n_users, n_items = info["n_users"], info["n_items"]
    genre, _ = multi_hot(align_items(raw.items, item_ids), "class")
    text = np.random.default_rng(0).standard_normal((n_items, TEXT_DIM), dtype=np.float32)
    train = interactions[interactions["split"] == TRAIN]
    users, items = train["user"].to_numpy(), train["item"].to_numpy()
    start = time.perf_counter()
    lightgcn = TrainData.build(users, items, n_users, n_items, device=device)
    middle = time.perf_counter()
    siger = TrainData.build(users, items, n_users, n_items, {"genre": genre, "text": text}, device)
    graphs = {"ui_graphs_seconds": middle - start,
              "siger_graphs_seconds": time.perf_counter() - middle}  # ui + co-occurrence + kNN + EISG
    train_m, test_m = (split_matrix(interactions, split, n_users, n_items) for split in (TRAIN, TEST))
    return ingestion, graphs, {"lightgcn": lightgcn, "siger": siger}, train_m, test_m
