"""Train SIGER with early stopping on validation; the best weights are the output."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ...metrics import Evaluator
from ...models.siger import Siger, SigerConfig
from ...training.inputs import TRAIN, VALID, build_siger, select_modalities, split_matrix
from ...training.sampler import NegativeSampler
from ...cache import stable_hash
from ...training.checkpoint import Checkpointer
from ...training.trainer import TrainConfig, fit, resolve_device, seed_everything


def _run_key(info, features, ui_adjacency, eisg, params, evaluation) -> str:
    """Identifies what a checkpoint was trained on, so that only the same run resumes it."""
    arrays = [features[m] for m in sorted(features)] + [ui_adjacency.data] + [eisg[m].data for m in sorted(eisg)]
    digest = stable_hash([hashlib.sha256(a.tobytes()).hexdigest() for a in arrays])
    return stable_hash([info["fingerprint"], digest, params, evaluation])


def model_from_params(
    info: dict,
    features: dict[str, np.ndarray],
    ui_adjacency: sp.csr_matrix,
    user_item: sp.csr_matrix,
    eisg: dict[str, sp.csr_matrix],
    params: dict,
    device: torch.device,
) -> Siger:
    modalities = select_modalities(list(features), params.get("modalities"))
    return build_siger(
        info["n_users"], info["n_items"], features, ui_adjacency, user_item, eisg,
        SigerConfig(**params["siger"]), modalities, device,
    )


def train_siger(
    interactions: pd.DataFrame,
    info: dict,
    features: dict[str, np.ndarray],
    ui_adjacency: sp.csr_matrix,
    user_item: sp.csr_matrix,
    eisg: dict[str, sp.csr_matrix],
    params: dict,
    evaluation: dict,
    checkpoint: Checkpointer | None = None,
) -> tuple[dict[str, torch.Tensor], list[dict]]:
    device = resolve_device(params["device"])
    seed_everything(params["seed"])
    model = model_from_params(info, features, ui_adjacency, user_item, eisg, params, device)
    n_users, n_items = info["n_users"], info["n_items"]
    train = interactions[interactions["split"] == TRAIN]
    users = torch.as_tensor(train["user"].to_numpy(), dtype=torch.long, device=device)
    items = torch.as_tensor(train["item"].to_numpy(), dtype=torch.long, device=device)
    evaluator = Evaluator(n_items, ks=evaluation["ks"], batch_size=evaluation["batch_size"], device=device)
    task = evaluator.prepare(
        split_matrix(interactions, VALID, n_users, n_items),
        [split_matrix(interactions, TRAIN, n_users, n_items)],
    )
    result = fit(
        model, users, items, NegativeSampler(users, items, n_users, n_items),
        validate=lambda m: evaluator.evaluate(*m.embeddings(), task=task),
        config=TrainConfig(
            epochs=params["epochs"], batch_size=params["batch_size"],
            learning_rate=params["learning_rate"], patience=params["patience"],
            valid_metric=params["valid_metric"],
        ),
        checkpoint=checkpoint.for_run(_run_key(info, features, ui_adjacency, eisg, params, evaluation))
        if checkpoint else None,
    )
    return result.best_state, result.history
