"""The cold-start experiment (the paper's RQ2, docs/protocol.md): a seeded share of items lose
every training interaction; SIGER and the chosen baselines train on what is left (graphs
rebuilt from that training split, modality kNN graphs as stored) and are scored on all items
and on the cold items alone, which are ranked among all items; and, as a diagnostic, on the
cold items ranked among the cold items only (whether a model orders them at all, when it ranks
none of them high among all items)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ...data.split import TRAIN, cold_start_split, restricted_to_items
from ...graphs.cooccurrence import cooccurrence_graph
from ...graphs.normalize import interaction_matrix, mix_graphs, normalize_bipartite, normalize_square, ui_adjacency
from ...metrics.evaluator import Evaluator
from ...reporting.comparison import bar_chart, markdown_table, summarize_splits
from ...training.experiment import Experiment, evaluator_for
from ...training.trainer import resolve_device
from ..compare import tracking
from ...training.pool import train_in_parallel
from ..compare.nodes import logged_training, seed_jobs, selected_models
from ..model.nodes import experiment, loaded_model, model_training

METRICS = {"recall@20": "R@20", "ndcg@20": "N@20"}
SPLITS = {"test": "all items", "cold_test": "cold items", "cold_among_cold_test": "cold among cold"}


def split_cold_items(interactions: pd.DataFrame, cold_start: dict) -> tuple[pd.DataFrame, dict]:
    """The interactions with the cold-start split, and which items are cold."""
    split, cold = cold_start_split(interactions["item"].to_numpy(), interactions["split"].to_numpy(),
                                   cold_start["cold_fraction"], cold_start["seed"])
    return interactions.assign(split=split), {"fraction": cold_start["cold_fraction"], "seed": cold_start["seed"],
                                              "cold_items": cold.tolist()}


def cold_start_experiment(interactions: pd.DataFrame, info: dict, features: dict[str, np.ndarray],
                          knn: dict[str, sp.csr_matrix], consistent_knn: dict[str, sp.csr_matrix], graphs: dict,
                          training: dict) -> Experiment:
    """The graphs stage's interaction graphs, co-occurrence graph and EISG, built again from the
    cold-start training split (the kNN graphs depend on features only)."""
    n_users, n_items = info["n_users"], info["n_items"]
    train = interactions[interactions["split"] == TRAIN]
    users, items = train["user"].to_numpy(), train["item"].to_numpy()
    r = interaction_matrix(users, items, n_users, n_items)
    cooc = normalize_square(cooccurrence_graph(users, items, n_users, n_items, k=graphs["cooccurrence_k"]))
    eisg = {m: mix_graphs(cooc, normalize_square(g), graphs["beta"]) for m, g in knn.items()}
    return experiment(interactions, info, features, ui_adjacency(r), normalize_bipartite(r), eisg, cooc, knn,
                      consistent_knn, training)


def train_cold_start(interactions: pd.DataFrame, cold: dict, info: dict, features: dict[str, np.ndarray],
                     knn: dict[str, sp.csr_matrix], consistent_knn: dict[str, sp.csr_matrix], cold_start: dict,
                     graphs: dict, training: dict, evaluation: dict, experiments: dict, runs,
                     **blocks: dict) -> list[dict]:
    """Each model of `cold_start.models` once per seed (`experiments.workers` trainings at a
    time; nested MLflow runs, run store): its valid/test scores on all items and its test
    scores on the cold items."""
    data = cold_start_experiment(interactions, info, features, knn, consistent_knn, graphs, training)
    cold_items = np.asarray(cold["cold_items"], dtype=np.int64)
    cold_test = restricted_to_items(data.test, cold_items)
    models = selected_models({"models": cold_start["models"]})
    jobs = {m: seed_jobs(data, blocks[m], cold_start["seeds"], training, evaluation, f"{m} cold-start") for m in models}
    train_in_parallel([job for m in models for job in jobs[m]], runs, experiments["workers"])
    results = []
    for model in models:
        settings, records = blocks[model], []
        device = resolve_device(model_training(settings, training)["device"])
        with tracking.model_run(model):
            for seed, job in zip(cold_start["seeds"], jobs[model]):
                result, record = logged_training(job, runs, f"{model}/seed-{seed}",
                                                 {tracking.MODEL_TAG: model, "seed": str(seed)})
                with_weights = loaded_model(data, settings, result.weights, device)
                user_emb, item_emb = with_weights.embeddings()
                scores = evaluator_for(data, evaluation, device).evaluate(user_emb, item_emb, cold_test,
                                                                          [data.inputs.train])
                record |= {f"cold_test_{k}": v for k, v in scores.items()}
                among_cold = Evaluator(len(cold_items), ks=evaluation["ks"], batch_size=evaluation["batch_size"],
                                       device=device)  # cold items have no training rows to mask
                scores = among_cold.evaluate(user_emb, item_emb[torch.as_tensor(cold_items, device=item_emb.device)],
                                             sp.csr_matrix(data.test[:, cold_items]), [])
                record |= {f"cold_among_cold_test_{k}": v for k, v in scores.items()}
                records.append(record)
        results.append({"model": model, "seeds": records})
    return results


def compile_cold_start_report(info: dict, cold: dict, cold_start: dict, results: list[dict]):
    """Test Recall@20 / NDCG@20 on all items, on cold items, and on cold items ranked among cold
    items only (mean ± std over seeds)."""
    table = summarize_splits(results, METRICS, SPLITS)
    labels = {f"{where} {label}": f"{where} {label}" for where in SPLITS.values() for label in METRICS.values()}
    n = len(cold_start["seeds"])
    title = (f"{info['name']}: cold start, {len(cold['cold_items'])} cold items ({cold['fraction']:.0%}), test, "
             + (f"mean ± std over {n} seeds" if n > 1 else "one seed"))
    return table, markdown_table(table, title, metrics=labels), bar_chart(table, title, metrics=labels)
