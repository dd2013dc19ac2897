"""Per-model grid search on validation, the chosen setting trained with several seeds, and
the Table-1 report. Every training goes through `training.runs.train_model` with the shared
run store: a trial finished before an interruption is not trained again, and the chosen
setting's first seed (the search's own run) is reused by the template and the seeds."""
from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...models.registry import MODELS, model_config
from ...reporting.comparison import (
    bar_chart,
    improvement,
    markdown_table,
    markdown_tests,
    paired_seed_tests,
    summarize,
    summary_metrics,
    user_intervals,
)
from ...reporting.significance import markdown_user_tests, user_tests
from ...training.pool import train_in_parallel
from ...training.runs import RunStore, TrainingJob, TrainingResult, train_model
from ...cache import stable_hash
from ...training.search import Pruning, run_search
from ..model.nodes import experiment, training_job
from . import tracking

logger = logging.getLogger(__name__)


def selected_names(chosen: str | list[str] | None, known, key: str, kind: str) -> list[str]:
    """A selection parameter (`key`): a list, or one string of names separated by spaces or '+'
    (Kedro's --params splits on commas, so `--params "compare.models=lightgcn siger"` works from
    a shell); null or "all" = every `known` name. Unknown names are an error naming them."""
    if chosen is None or chosen == "all":
        return list(known)
    if isinstance(chosen, str):
        chosen = chosen.replace("+", " ").split()
    unknown = [m for m in chosen if m not in known]
    if unknown or not chosen:
        raise ValueError(f"{key} names {unknown or f'no {kind}'}; known {kind}s: {', '.join(known)}")
    return list(dict.fromkeys(chosen))


def selected_models(compare: dict) -> list[str]:
    """`compare.models` (`selected_names`): the registered models it selects."""
    return selected_names(compare.get("models"), MODELS, "compare.models", "model")


def logged_training(job, store: RunStore, run_name: str, tags: dict[str, str],
                    on_epoch=None) -> tuple[TrainingResult, dict]:
    """One training in its own nested MLflow run (epochs logged live, or after the fact when
    the run is reused from the store); returns the result and its record. `on_epoch`: see
    `training.runs.train_model`."""
    params = {"hyperparameters": job.hyperparameters, "seed": job.config.seed}
    with tracking.child_run(run_name, params, tags):
        result = train_model(job, store, on_epoch=on_epoch)
        if result.reused:
            tracking.set_tags({"reused_run": result.key})
            tracking.log_history(result.history)
        record = {"seed": job.config.seed, "best_epoch": result.best_epoch, "epochs_run": len(result.history),
                  "train_seconds": float(sum(h["epoch_seconds"] for h in result.history)), **result.scores}
        tracking.log_metrics({k: v for k, v in record.items() if k != "seed"})
    return result, record


def search_hyperparameters(
    interactions: pd.DataFrame, info: dict, features: dict[str, np.ndarray], ui_adjacency: sp.csr_matrix,
    user_item: sp.csr_matrix, eisg: dict[str, sp.csr_matrix], cooccurrence: sp.csr_matrix,
    knn: dict[str, sp.csr_matrix], consistent_knn: dict[str, sp.csr_matrix],
    settings: dict, compare: dict, training: dict, evaluation: dict, runs: RunStore,
) -> tuple[dict, dict]:
    """Search the model's grid on validation with the first seed (`training.search`: the whole
    grid, or `compare.budget` settings; trials clearly behind the best are pruned) and keep the
    trial with the best validation metric (test scores are recorded, never used). Returns the
    search record and the model's settings with the chosen hyper-parameters and the first
    seed, which the template trains (reusing the trial's run)."""
    model = settings["model"]
    defaults = dataclasses.asdict(model_config(model, settings.get("hyperparameters")))
    grid = settings.get("grid") or {}
    data = experiment(interactions, info, features, ui_adjacency, user_item, eisg, cooccurrence, knn, consistent_knn,
                      training)
    seed = compare["seeds"][0]
    metric = f"valid_{training['valid_metric']}"
    pruning = Pruning(**(compare.get("pruning") or {}))

    def evaluate(hyper: dict, report, number: int) -> tuple[float, dict]:
        job = training_job(data, {**settings, "hyperparameters": hyper}, training, evaluation,
                           seed=seed, label=f"{model} trial {number}")
        _, record = logged_training(job, runs, f"{model}/trial-{number}",
                                    {tracking.MODEL_TAG: model, "seed": str(seed)}, on_epoch=report)
        logger.info("%s trial %d: %s %.4f", model, number, metric, record[metric])
        return record[metric], record

    # one study per model, data, code and search settings: a changed setup starts afresh
    defaults_job = training_job(data, {**settings, "hyperparameters": defaults}, training, evaluation, seed=seed)
    name = f"{model}-" + stable_hash([defaults_job.key(), grid, compare["budget"], compare["search_seed"],
                                      dataclasses.asdict(pruning)])[:12]
    with tracking.model_run(model):
        found = run_search(defaults, grid, evaluate, runs.study_storage(), name, compare["budget"],
                           compare["search_seed"], pruning)
        pruned = [t for t in found.trials if t["state"] == "PRUNED"]
        tracking.log_metrics({f"search_best_{metric}": found.best[metric], "search_trials": len(found.trials),
                              "search_pruned": len(pruned)})
    own_training = {**(settings.get("training") or {}), "seed": seed}
    chosen = {**settings, "hyperparameters": found.best["hyperparameters"], "training": own_training}
    search = {"model": model, "valid_metric": metric, "study": name, "best_trial": found.best["trial"],
              "best_hyperparameters": found.best["hyperparameters"], "trials": found.trials}
    return search, chosen


def seed_jobs(data, settings: dict, seeds: list[int], training: dict, evaluation: dict, name: str) -> list[TrainingJob]:
    """`settings` once per seed: the jobs `seed_records` trains (or finds trained)."""
    return [training_job(data, settings, training, evaluation, seed=seed, label=f"{name} seed {seed}")
            for seed in seeds]


def seed_records(data, settings: dict, seeds: list[int], training: dict, evaluation: dict, runs: RunStore,
                 name: str, workers: int = 1) -> tuple[list[dict], pd.DataFrame]:
    """`settings` trained once per seed (in `workers` processes side by side, see
    `training.pool`), each in its own MLflow run nested under the `name` run: each seed's
    record, and each test user's metrics per seed (columns seed, user, metrics)."""
    jobs = seed_jobs(data, settings, seeds, training, evaluation, name)
    train_in_parallel(jobs, runs, workers)
    records, per_user = [], []
    with tracking.model_run(name):
        for seed, job in zip(seeds, jobs):
            result, record = logged_training(job, runs, f"{name}/seed-{seed}",
                                             {tracking.MODEL_TAG: name, "seed": str(seed)})
            records.append(record)
            per_user.append(result.per_user.assign(seed=seed))
    return records, pd.concat(per_user, ignore_index=True)


def train_seeds(
    interactions: pd.DataFrame, info: dict, features: dict[str, np.ndarray], ui_adjacency: sp.csr_matrix,
    user_item: sp.csr_matrix, eisg: dict[str, sp.csr_matrix], cooccurrence: sp.csr_matrix,
    knn: dict[str, sp.csr_matrix], consistent_knn: dict[str, sp.csr_matrix],
    settings: dict, compare: dict, training: dict, evaluation: dict, experiments: dict, runs: RunStore,
) -> tuple[dict, pd.DataFrame]:
    """The chosen setting trained once per seed (`experiments.workers` at a time); valid and
    test scores of each, and each test user's metrics per seed."""
    model = settings["model"]
    data = experiment(interactions, info, features, ui_adjacency, user_item, eisg, cooccurrence, knn, consistent_knn,
                      training)
    records, per_user = seed_records(data, settings, compare["seeds"], training, evaluation, runs, model,
                                     experiments["workers"])
    with tracking.model_run(model):
        tracking.log_metrics(summary_metrics(summarize([{"model": model, "seeds": records}]).iloc[0]))
    return {"model": model, "hyperparameters": settings["hyperparameters"], "seeds": records}, per_user


def compile_report(info: dict, compare: dict, **inputs) -> tuple[pd.DataFrame, pd.DataFrame, str, object]:
    """Table 1 for this dataset, in `compare.models` order: CSV rows, SIGER's paired tests over
    users (`reporting.significance`), Markdown and a bar chart. `inputs` holds each model's
    `results_of_<model>` and `per_user_of_<model>` (None for a model never compared)."""
    chosen = selected_models(compare)
    results = {m: inputs.get(f"results_of_{m}") for m in chosen}
    missing = [m for m in chosen if not results[m]]
    if missing:
        raise ValueError(f"compare.models selects {missing}, which have no results yet; run "
                         "`kedro run --pipeline compare` (it trains the selected models)")
    per_user = {m: inputs[f"per_user_of_{m}"] for m in chosen if inputs.get(f"per_user_of_{m}") is not None}
    table = summarize([results[m] for m in chosen])
    n = len(compare["seeds"])
    title = f"{info['name']}: test scores, " + (f"mean ± std over {n} seeds" if n > 1 else "one seed")
    user_tests_table = user_tests(per_user)
    sections = [markdown_table(table, title), markdown_tests(paired_seed_tests([results[m] for m in chosen])),
                markdown_user_tests(user_tests_table)]
    markdown = "\n".join(part for part in sections if part)
    chart = bar_chart(table, title, intervals=user_intervals(per_user) if len(per_user) == len(chosen) else None)
    gain = improvement(table)
    if gain:  # the CSV carries the improvement row too, in the mean columns
        row = {"model": "improv. (siger vs best other)", **{f"{k} mean": v for k, v in gain.items()}}
        table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
    return table, user_tests_table, markdown, chart
