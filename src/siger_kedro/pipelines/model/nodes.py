"""Nodes of the per-model template: train one model, score it on valid and test, write each
user's top-K list and the training curve. The model and its hyper-parameters come from its
settings block (`conf/base/parameters_models/<model>.yml`, with `model: <name>` added by the
config loader); nothing here names a model."""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from matplotlib.figure import Figure

from ...models.registry import create_model
from ...reporting.training_curve import training_curve
from ...serving import Recommender, recommender_from_training
from ...training.experiment import (
    Experiment,
    evaluator_for,
    experiment_from_arrays,
    score,
)
from ...training.runs import RunStore, TrainingJob
from ...training.runs import train_model as run_training
from ...training.trainer import TrainConfig, resolve_device

TRAIN_CONFIG_KEYS = ("epochs", "batch_size", "learning_rate", "weight_decay", "lr_decay", "lr_decay_every", "patience",
                     "valid_metric", "seed", "precision")


def experiment(interactions: pd.DataFrame, info: dict, features: dict[str, np.ndarray], ui_adjacency: sp.csr_matrix,
               user_item: sp.csr_matrix, eisg: dict[str, sp.csr_matrix], cooccurrence: sp.csr_matrix,
               knn: dict[str, sp.csr_matrix], consistent_knn: dict[str, sp.csr_matrix], training: dict) -> Experiment:
    return experiment_from_arrays(interactions, info, features, ui_adjacency, user_item, eisg, cooccurrence,
                                  knn, consistent_knn, modalities=training.get("modalities"))


def model_training(settings: dict, training: dict) -> dict:
    """The shared `training` parameters with the model's own `training` overrides over them."""
    own = settings.get("training") or {}
    unknown = sorted(set(own) - set(training))
    if unknown:
        raise ValueError(f"{settings['model']}.training sets {unknown}, which are not training parameters; "
                         f"they are {sorted(training)}")
    return {**training, **own}


def training_job(experiment: Experiment, settings: dict, training: dict, evaluation: dict, **changes) -> TrainingJob:
    """The job that trains `settings`' model; `changes` replace TrainConfig fields (e.g. seed)."""
    training = model_training(settings, training)
    config = TrainConfig(**{**{k: training[k] for k in TRAIN_CONFIG_KEYS if k in training},
                            "term_gradients": training.get("term_gradients", True), **changes})
    return TrainingJob(experiment, settings["model"], dict(settings.get("hyperparameters") or {}), config,
                       evaluation, device=training["device"], processes=training.get("processes", 1))


def train_model(interactions: pd.DataFrame, info: dict, features: dict[str, np.ndarray], ui_adjacency: sp.csr_matrix,
                user_item: sp.csr_matrix, eisg: dict[str, sp.csr_matrix], cooccurrence: sp.csr_matrix,
                knn: dict[str, sp.csr_matrix], consistent_knn: dict[str, sp.csr_matrix],
                settings: dict, training: dict, evaluation: dict, runs: RunStore,
                ) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """The best weights and the per-epoch history of the model's run (resumed or reused from
    `runs` when it was interrupted or has already finished)."""
    data = experiment(interactions, info, features, ui_adjacency, user_item, eisg, cooccurrence, knn, consistent_knn,
                      training)
    result = run_training(training_job(data, settings, training, evaluation, label=settings["model"]), runs)
    return result.weights, result.history


def evaluate_model(interactions: pd.DataFrame, info: dict, features: dict[str, np.ndarray], ui_adjacency: sp.csr_matrix,
                   user_item: sp.csr_matrix, eisg: dict[str, sp.csr_matrix], cooccurrence: sp.csr_matrix,
                   knn: dict[str, sp.csr_matrix], consistent_knn: dict[str, sp.csr_matrix], user_ids: pd.DataFrame, item_ids: pd.DataFrame, settings: dict, weights: dict[str, torch.Tensor],
                   history: list[dict], training: dict, evaluation: dict) -> tuple[dict[str, float], pd.DataFrame]:
    """valid_* and test_* metrics of the best weights, and each user's top-K unseen items."""
    data, model, device = trained_model(interactions, info, features, ui_adjacency, user_item, eisg, cooccurrence,
                                        knn, consistent_knn, settings, weights, training)
    metrics = score(model, data, evaluation, device)
    best = max(history, key=lambda h: h[f"valid_{training['valid_metric']}"])
    metrics |= {
        "best_epoch": best["epoch"],
        "epochs_run": len(history),
        "epoch_seconds_mean": float(np.mean([h["epoch_seconds"] for h in history])),
    }
    user_emb, item_emb = model.embeddings()
    exclude = [data.inputs.train, data.valid]
    return metrics, _recommendations(evaluator_for(data, evaluation, device), user_emb, item_emb, exclude,
                                     evaluation["recommend_k"], user_ids, item_ids)


def loaded_model(data: Experiment, settings: dict, weights: dict[str, torch.Tensor], device: torch.device):
    """`settings`' model on `data` with `weights`, in evaluation mode."""
    model = create_model(settings["model"], data.inputs, settings.get("hyperparameters"), device)
    model.load_state_dict(weights)
    return model.eval()


def trained_model(interactions, info, features, ui_adjacency, user_item, eisg, cooccurrence, knn, consistent_knn,
                  settings: dict, weights: dict[str, torch.Tensor], training: dict):
    """(experiment, model with `weights`, device) from the stage outputs: what scoring and
    packaging a trained model both start from."""
    training = model_training(settings, training)
    device = resolve_device(training["device"])
    data = experiment(interactions, info, features, ui_adjacency, user_item, eisg, cooccurrence, knn, consistent_knn,
                      training)
    return data, loaded_model(data, settings, weights, device), device


def package_recommender(interactions: pd.DataFrame, info: dict, features: dict[str, np.ndarray],
                        ui_adjacency: sp.csr_matrix, user_item: sp.csr_matrix, eisg: dict[str, sp.csr_matrix],
                        cooccurrence: sp.csr_matrix, knn: dict[str, sp.csr_matrix],
                        consistent_knn: dict[str, sp.csr_matrix], user_ids: pd.DataFrame, item_ids: pd.DataFrame,
                        items: pd.DataFrame, settings: dict, weights: dict[str, torch.Tensor], training: dict,
                        recommend: dict) -> Recommender:
    """The trained model as a recommender (its final embeddings, what each user has seen, ids
    and titles): what `recommend` and the MLflow model serve."""
    _, model, _ = trained_model(interactions, info, features, ui_adjacency, user_item, eisg, cooccurrence, knn,
                                consistent_knn, settings, weights, training)
    with torch.no_grad():
        user_emb, item_emb = model.embeddings()
    return recommender_from_training(settings["model"], info["name"], user_emb.cpu().numpy(), item_emb.cpu().numpy(),
                                     interactions, user_ids, item_ids, items, recommend["title_columns"],
                                     recommend["k"])


def _recommendations(evaluator, user_emb, item_emb, exclude, k, user_ids, item_ids) -> pd.DataFrame:
    """Each user's top-k unseen items, in original ids: columns user, rank, item, score."""
    k = min(k, item_emb.shape[0])
    items, scores = evaluator.top_k(user_emb, item_emb, exclude, k)
    n_users = items.shape[0]
    user_original = user_ids.sort_values("user")["original"].to_numpy()
    item_original = item_ids.sort_values("item")["original"].to_numpy()
    return pd.DataFrame(
        {
            "user": np.repeat(user_original[:n_users], k),
            "rank": np.tile(np.arange(1, k + 1), n_users),
            "item": item_original[items.cpu().numpy().ravel()],
            "score": scores.cpu().numpy().ravel(),
        }
    )


def plot_training_curve(history: list[dict], settings: dict, training: dict) -> Figure:
    """The run's training curve (reporting.training_curve), on its validation metric."""
    return training_curve(history, settings["model"], f"valid_{model_training(settings, training)['valid_metric']}")
