"""SIGER's sensitivity to one parameter at a time (the paper's RQ4, Figures 4-5, and the other
grids it tunes): each value of a swept parameter, the others at SIGER's settings, trained once
per seed through the one training entry point (an interrupted run resumes; finished runs are
reused, so the value equal to SIGER's own is trained once for every sweep); the report marks
each parameter's best value on validation, with test beside it."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...models.registry import model_config
from ...reporting.comparison import summarize_splits, summary_metrics
from ...reporting.sensitivity import METRICS, SPLITS, sensitivity_figure, sensitivity_markdown, sensitivity_table
from ..compare import tracking
from ...training.pool import train_in_parallel
from ..compare.nodes import seed_jobs, seed_records, selected_names
from ..graphs.nodes import build_cooccurrence_graph, build_eisg
from ..model.nodes import experiment

# parameter -> its name in the paper; cooccurrence_k and beta are graphs-stage parameters
# (graphs.*), the others SIGER's hyper-parameters (aux_warmup_epochs is not the paper's: it is
# swept so that whether the warm-up helps is decided on validation). Each has a grid in
# sensitivity.grids.
PARAMETERS = {"cooccurrence_k": "K_c", "ii_layers": "L_ii", "beta": "β", "epsilon": "ε", "lambda_p": "λp",
              "lambda_a": "λa", "tau_p": "τ0", "aux_warmup_epochs": "warm-up epochs"}
GRAPH_PARAMETERS = {"cooccurrence_k", "beta"}


def selected_parameters(sensitivity: dict) -> list[str]:
    """`sensitivity.parameters` (compare's `selected_names`, e.g. --params
    "sensitivity.parameters=cooccurrence_k beta"): the parameters it sweeps."""
    return selected_names(sensitivity.get("parameters"), PARAMETERS, "sensitivity.parameters", "parameter")


def value_graphs(parameter: str, value, interactions: pd.DataFrame, info: dict, cooccurrence: sp.csr_matrix,
                 knn: dict[str, sp.csr_matrix], eisg: dict[str, sp.csr_matrix],
                 graphs: dict) -> tuple[sp.csr_matrix, dict[str, sp.csr_matrix]]:
    """The co-occurrence graph and EISG with `parameter` at `value`: only what it changes is
    built again, by the graphs stage's own functions; the kNN graphs are always the stored ones."""
    if parameter == "cooccurrence_k":  # from the training interactions, then the EISG mixed again
        cooccurrence = build_cooccurrence_graph(interactions, info, value)
        return cooccurrence, build_eisg(cooccurrence, knn, graphs["beta"])
    if parameter == "beta":  # the stored graphs mixed again: O(edges)
        return cooccurrence, build_eisg(cooccurrence, knn, value)
    return cooccurrence, eisg


def train_values(
    interactions: pd.DataFrame, info: dict, features: dict[str, np.ndarray], ui_adjacency: sp.csr_matrix,
    user_item: sp.csr_matrix, eisg: dict[str, sp.csr_matrix], cooccurrence: sp.csr_matrix,
    knn: dict[str, sp.csr_matrix], consistent_knn: dict[str, sp.csr_matrix],
    settings: dict, seeds: list[int], values: list, graphs: dict, training: dict, evaluation: dict,
    experiments: dict, runs, *, parameter: str,
) -> dict:
    """SIGER with `parameter` at each of `values`, once per seed (every value's seeds
    `experiments.workers` at a time); each value is an MLflow run `<parameter>=<value>` with a
    nested run per seed."""
    hyperparameters = settings["hyperparameters"]
    default = graphs[parameter] if parameter in GRAPH_PARAMETERS else \
        dataclasses.asdict(model_config(settings["model"], hyperparameters))[parameter]
    variants = []
    for value in values:
        cooc, mixed = value_graphs(parameter, value, interactions, info, cooccurrence, knn, eisg, graphs)
        data = experiment(interactions, info, features, ui_adjacency, user_item, mixed, cooc, knn, consistent_knn,
                          training)
        changed = hyperparameters if parameter in GRAPH_PARAMETERS else {**hyperparameters, parameter: value}
        variants.append((value, cooc, data, {**settings, "hyperparameters": changed}, f"{parameter}={value}"))
    jobs = [job for _, _, data, changed, name in variants
            for job in seed_jobs(data, changed, seeds, training, evaluation, name)]
    train_in_parallel(jobs, runs, experiments["workers"])
    out = []
    for value, cooc, data, changed, name in variants:
        records, _ = seed_records(data, changed, seeds, training, evaluation, runs, name)
        with tracking.model_run(name):  # the value's run: what it sets, mean and std over its seeds
            tracking.set_tags({"sensitivity_parameter": parameter, "sensitivity_value": str(value)})
            tracking.log_metrics(summary_metrics(summarize_splits([{"model": name, "seeds": records}], METRICS,
                                                                  SPLITS).iloc[0]))
        out.append({"value": value, "experiment_digest": data.digest, "cooccurrence_edges": int(cooc.nnz),
                    "seeds": records})
    return {"parameter": parameter, "default": default, "values": out}


def compile_sensitivity_report(info: dict, sensitivity: dict, **inputs) -> tuple[pd.DataFrame, str, object]:
    """The table (CSV rows and Markdown) and the figure of the parameters `sensitivity.parameters`
    selects; `inputs` holds each parameter's `results_of_<parameter>` (None if never swept)."""
    chosen = selected_parameters(sensitivity)
    missing = [p for p in chosen if not inputs.get(f"results_of_{p}")]
    if missing:
        raise ValueError(f"sensitivity.parameters selects {missing}, which have no results yet; run "
                         "`kedro run --pipeline sensitivity` (it trains the selected parameters' values)")
    table = sensitivity_table([inputs[f"results_of_{p}"] for p in chosen])
    n = len(sensitivity["seeds"])
    title = f"{info['name']}: SIGER's sensitivity, " + (f"mean ± std over {n} seeds" if n > 1 else "one seed")
    markdown = sensitivity_markdown(table, f"{title}; each parameter's best value on validation R@20 in bold",
                                    PARAMETERS)
    return table, markdown, sensitivity_figure(table, title, PARAMETERS)
