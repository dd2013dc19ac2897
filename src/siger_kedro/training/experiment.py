"""A dataset as models train on it (`Experiment`), and the scores of a trained model on it.

Every pipeline that trains builds its Experiment here, so that all models see the same data,
graphs and evaluator (training itself: `runs.train_model`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ..data.split import TEST, TRAIN, VALID
from ..graphs.normalize import split_matrix
from ..metrics import Evaluator
from ..models.base import ModelInputs


@dataclass(frozen=True)
class Experiment:
    """A dataset ready for training: what models see (`inputs`) and the held-out splits."""

    inputs: ModelInputs
    valid: sp.csr_matrix
    test: sp.csr_matrix

    @cached_property
    def digest(self) -> str:
        """sha256 of every array a model or the evaluator reads: what a training run's key
        says about its data."""
        x = self.inputs
        digest = hashlib.sha256(repr((x.n_users, x.n_items, x.modalities, sorted(x.eisg), sorted(x.knn),
                                      sorted(x.consistent_knn))).encode())
        matrices = [x.train, x.ui_adjacency, x.user_item, *(x.eisg[m] for m in sorted(x.eisg)),
                    *(x.knn[m] for m in sorted(x.knn)), *(x.consistent_knn[m] for m in sorted(x.consistent_knn)),
                    *([x.cooccurrence] if x.cooccurrence is not None else []), self.valid, self.test]
        for m in matrices:
            for a in (m.indptr, m.indices, m.data):
                digest.update(np.ascontiguousarray(a).tobytes())
        for m in x.modalities:
            digest.update(np.ascontiguousarray(x.features[m]).tobytes())
        return digest.hexdigest()


def select_modalities(available: list[str], wanted: list[str] | None) -> list[str]:
    """`wanted` (None = all) checked against what the features stage produced."""
    if wanted is None:
        return sorted(available)
    missing = sorted(set(wanted) - set(available))
    if missing:
        raise ValueError(f"training.modalities asks for {missing}, but the dataset has {sorted(available)}")
    return sorted(wanted)


def experiment_from_arrays(
    interactions: pd.DataFrame,
    info: dict,
    features: dict[str, np.ndarray],
    ui_adjacency: sp.csr_matrix,
    user_item: sp.csr_matrix,
    eisg: dict[str, sp.csr_matrix],
    cooccurrence: sp.csr_matrix | None = None,
    knn: dict[str, sp.csr_matrix] | None = None,
    consistent_knn: dict[str, sp.csr_matrix] | None = None,
    modalities: list[str] | None = None,
) -> Experiment:
    """The stored outputs of the ingest, features and graphs stages as one Experiment;
    `modalities` (None = all) selects the feature modalities models may use."""
    n_users, n_items = info["n_users"], info["n_items"]
    chosen = select_modalities(list(features), modalities)
    inputs = ModelInputs(
        n_users=n_users,
        n_items=n_items,
        train=split_matrix(interactions, TRAIN, n_users, n_items),
        ui_adjacency=ui_adjacency,
        user_item=user_item,
        features={m: features[m] for m in chosen},
        eisg={m: eisg[m] for m in chosen if m in eisg},
        cooccurrence=cooccurrence,
        knn={m: knn[m] for m in chosen if m in (knn or {})},
        # denoised across every modality: only valid for the modalities they were built over
        consistent_knn=dict(consistent_knn) if consistent_knn and set(consistent_knn) == set(chosen) else {},
    )
    return Experiment(inputs, split_matrix(interactions, VALID, n_users, n_items),
                      split_matrix(interactions, TEST, n_users, n_items))


def evaluator_for(experiment: Experiment, evaluation: dict, device: torch.device) -> Evaluator:
    return Evaluator(experiment.inputs.n_items, ks=evaluation["ks"], batch_size=evaluation["batch_size"], device=device)


def scores_and_users(model: torch.nn.Module, experiment: Experiment, evaluation: dict,
                     device: torch.device) -> tuple[dict[str, float], pd.DataFrame]:
    """valid_* and test_* metrics of the model's current weights (MMRec's protocol: the test
    ranking masks training items, and validation items too when `mask_valid_in_test`), and
    each test user's metrics (column `user`, internal id, then one column per metric): what
    paired tests between models compare. test_* are their means: the test users are ranked once."""
    user_emb, item_emb = model.embeddings()
    evaluator = evaluator_for(experiment, evaluation, device)
    train = experiment.inputs.train
    test_exclude = [train, experiment.valid] if evaluation["mask_valid_in_test"] else [train]
    metrics = {f"valid_{k}": v for k, v in evaluator.evaluate(user_emb, item_emb, experiment.valid, [train]).items()}
    users, values = evaluator.evaluate_users(user_emb, item_emb, experiment.test, test_exclude)
    metrics |= {f"test_{k}": float(v.mean()) if len(v) else float("nan") for k, v in values.items()}
    return metrics, pd.DataFrame({"user": users.astype(np.int64), **values})


def score(model: torch.nn.Module, experiment: Experiment, evaluation: dict, device: torch.device) -> dict[str, float]:
    """valid_* and test_* metrics of the model's current weights (`scores_and_users`)."""
    return scores_and_users(model, experiment, evaluation, device)[0]
