"""Tiny ModelInputs shared by the model tests: 12 users, 10 items, two modalities."""
import numpy as np
import scipy.sparse as sp

from siger_kedro.graphs.cooccurrence import cooccurrence_graph
from siger_kedro.graphs.knn import knn_graph
from siger_kedro.graphs.normalize import (
    mix_graphs,
    normalize_bipartite,
    normalize_square,
    ui_adjacency,
)
from siger_kedro.models.base import ModelInputs

N_USERS, N_ITEMS = 12, 10


def tiny_inputs(seed: int = 0, modalities=("image", "text")) -> ModelInputs:
    rng = np.random.default_rng(seed)
    r = (rng.random((N_USERS, N_ITEMS)) < 0.35).astype(np.float32)
    r[np.arange(N_USERS), np.arange(N_USERS) % N_ITEMS] = 1  # every user has a training item
    r[0, :] = 0
    r[0, :3] = 1  # and none has every item
    train = sp.csr_matrix(r)
    features = {m: rng.normal(size=(N_ITEMS, 6 + 2 * j)).astype(np.float32) for j, m in enumerate(modalities)}
    users, items = train.nonzero()
    cooc = normalize_square(cooccurrence_graph(users, items, N_USERS, N_ITEMS, k=3))
    knn = {m: knn_graph(x, k=4) for m, x in features.items()}
    eisg = {m: mix_graphs(cooc, normalize_square(g), 0.3) for m, g in knn.items()}
    return ModelInputs(
        n_users=N_USERS, n_items=N_ITEMS, train=train, ui_adjacency=ui_adjacency(train),
        user_item=normalize_bipartite(train), features=features, eisg=eisg, cooccurrence=cooc, knn=knn,
    )
