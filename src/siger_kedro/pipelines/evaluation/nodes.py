"""Score the best weights once on valid and test; write top-K lists and the training curve."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: the figure is only saved
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ...metrics import Evaluator
from ...training.inputs import TEST, TRAIN, VALID, split_matrix
from ...training.trainer import resolve_device
from ..training.nodes import model_from_params


def evaluate_model(
    interactions: pd.DataFrame,
    info: dict,
    user_ids: pd.DataFrame,
    item_ids: pd.DataFrame,
    features: dict[str, np.ndarray],
    ui_adjacency: sp.csr_matrix,
    user_item: sp.csr_matrix,
    eisg: dict[str, sp.csr_matrix],
    weights: dict[str, torch.Tensor],
    history: list[dict],
    params: dict,
    evaluation: dict,
) -> tuple[dict[str, float], pd.DataFrame]:
    device = resolve_device(params["device"])
    model = model_from_params(info, features, ui_adjacency, user_item, eisg, params, device)
    model.load_state_dict(weights)
    model.eval()
    user_emb, item_emb = model.embeddings()
    n_users, n_items = info["n_users"], info["n_items"]
    train, valid, test = (split_matrix(interactions, s, n_users, n_items) for s in (TRAIN, VALID, TEST))
    evaluator = Evaluator(n_items, ks=evaluation["ks"], batch_size=evaluation["batch_size"], device=device)
    test_exclude = [train, valid] if evaluation["mask_valid_in_test"] else [train]
    metrics = {f"valid_{k}": v for k, v in evaluator.evaluate(user_emb, item_emb, valid, [train]).items()}
    metrics |= {f"test_{k}": v for k, v in evaluator.evaluate(user_emb, item_emb, test, test_exclude).items()}
    best = max(history, key=lambda h: h[f"valid_{params['valid_metric']}"])
    metrics |= {
        "best_epoch": best["epoch"],
        "epochs_run": len(history),
        "epoch_seconds_mean": float(np.mean([h["epoch_seconds"] for h in history])),
    }
    return metrics, _recommendations(evaluator, user_emb, item_emb, [train, valid], evaluation["recommend_k"], user_ids, item_ids)


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


def plot_training_curve(history: list[dict], params: dict) -> plt.Figure:
    epochs = [h["epoch"] for h in history]
    metric = f"valid_{params['valid_metric']}"
    fig, (ax_loss, ax_valid) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [h["train_loss"] for h in history])
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="Training loss")
    ax_valid.plot(epochs, [h[metric] for h in history])
    ax_valid.set(xlabel="epoch", ylabel=metric, title="Validation")
    fig.tight_layout()
    return fig
