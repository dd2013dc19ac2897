"""SIGER's ablations (the paper's RQ3) as runs of the same code: each variant changes one
setting of SIGER's block (or the EISG mix), is trained once per seed through the one training
entry point (so an interrupted run resumes and finished runs are reused), and the report
compares the variants on validation, with test beside it."""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...graphs.normalize import mix_graphs, normalize_square
from ...reporting.comparison import markdown_table, markdown_tests, paired_seed_tests, summarize_splits
from ...training.pool import train_in_parallel
from ..compare.nodes import seed_jobs, seed_records
from ..model.nodes import experiment

# variant -> what it changes: SIGER's hyper-parameters, or the EISG's beta (Eq 7)
VARIANTS = {
    "siger": {},
    "siger_eisg_only": {"beta": 0.0},  # SIGER/EISG: the modality graph alone
    "siger_no_mp": {"hyperparameters": {"use_mp": False}},  # SIGER/MP
    "siger_mp_star": {"hyperparameters": {"modulus_weighting": False}},  # SIGER-MP*
    "siger_no_da": {"hyperparameters": {"use_da": False}},  # SIGER/DA
    "siger_da_star": {"hyperparameters": {"anchor_infonce": False}},  # SIGER-DA*
    # the other reading of each choice the paper leaves open (docs/siger.md), against the default
    "siger_wp_constant": {"hyperparameters": {"weight_gradient": False}},  # Eq 12: no gradient through W_p
    "siger_l2_final": {"hyperparameters": {"reg_target": "final"}},  # Eq 19: L2 on E (Eq 17), not E⁰
    "siger_all_nodes": {"hyperparameters": {"contrastive_nodes": "all"}},  # Eq 13-16 over all of U and I
    "siger_v_reversed": {"hyperparameters": {"da_view_order": "reversed"}},  # Eq 14: the other modality is v
}
METRICS = {"recall@20": "R@20", "ndcg@20": "N@20"}


def _seeds(data, settings: dict, ablations: dict, training: dict, evaluation: dict, runs, name: str,
           workers: int = 1) -> dict:
    records, _ = seed_records(data, settings, ablations["seeds"], training, evaluation, runs, name, workers)
    return {"model": name, "seeds": records}


def train_variant(
    interactions: pd.DataFrame, info: dict, features: dict[str, np.ndarray], ui_adjacency: sp.csr_matrix,
    user_item: sp.csr_matrix, eisg: dict[str, sp.csr_matrix], cooccurrence: sp.csr_matrix,
    knn: dict[str, sp.csr_matrix], consistent_knn: dict[str, sp.csr_matrix],
    settings: dict, ablations: dict, training: dict, evaluation: dict, experiments: dict, runs, *, variant: str,
) -> dict:
    """SIGER with the variant's change, once per `ablations.seeds` (`experiments.workers` at a time)."""
    change = VARIANTS[variant]
    if "beta" in change:  # the EISG mixed again from the stored graphs: O(edges)
        eisg = {m: mix_graphs(cooccurrence, normalize_square(knn[m]), change["beta"]) for m in eisg}
    settings = {**settings, "hyperparameters": {**settings["hyperparameters"], **change.get("hyperparameters", {})}}
    data = experiment(interactions, info, features, ui_adjacency, user_item, eisg, cooccurrence, knn,
                      consistent_knn, training)
    return _seeds(data, settings, ablations, training, evaluation, runs, variant, experiments["workers"])


def train_single_modalities(
    interactions: pd.DataFrame, info: dict, features: dict[str, np.ndarray], ui_adjacency: sp.csr_matrix,
    user_item: sp.csr_matrix, eisg: dict[str, sp.csr_matrix], cooccurrence: sp.csr_matrix,
    knn: dict[str, sp.csr_matrix], consistent_knn: dict[str, sp.csr_matrix],
    settings: dict, ablations: dict, training: dict, evaluation: dict, experiments: dict, runs,
) -> list[dict]:
    """SIGER on each modality alone (`training.modalities: [<m>]`), once per seed; every
    modality's seeds `experiments.workers` at a time."""
    variants = []
    for m in sorted(features):
        only = {**training, "modalities": [m]}
        data = experiment(interactions, info, features, ui_adjacency, user_item, eisg, cooccurrence, knn,
                          consistent_knn, only)
        variants.append((data, only, f"siger_{m}_only"))
    jobs = [job for data, only, name in variants
            for job in seed_jobs(data, settings, ablations["seeds"], only, evaluation, name)]
    train_in_parallel(jobs, runs, experiments["workers"])
    return [_seeds(data, settings, ablations, only, evaluation, runs, name) for data, only, name in variants]


def compile_ablation_report(info: dict, ablations: dict, single_modalities: list[dict],
                            **variants: dict) -> tuple[pd.DataFrame, str]:
    """Every variant's valid and test Recall@20 / NDCG@20 (mean ± std over seeds), and its
    change on validation against full SIGER with the p-value of a paired t-test over the seeds
    (whether the change outlasts training noise): variants are compared on validation."""
    results = [variants[v] for v in VARIANTS] + list(single_modalities)
    table = summarize_splits(results, METRICS, {"valid": "valid", "test": "test"}).set_index("model")
    tests = paired_seed_tests(results, metrics=METRICS, split="valid").set_index("model")
    for label in METRICS.values():
        full = table.loc["siger", f"valid {label} mean"]
        table[f"valid {label} vs siger"] = (table[f"valid {label} mean"] - full) / full
        table[f"valid {label} p"] = tests[f"{label} p"]  # NaN for SIGER itself
    table = table.reset_index()
    n = len(ablations["seeds"])
    title = (f"{info['name']}: SIGER's ablations, " + (f"mean ± std over {n} seeds" if n > 1 else "one seed")
             + "; compared on validation, test beside it")
    labels = {f"{split} {label}": f"{split} {label}" for split in ("valid", "test") for label in METRICS.values()}
    return table, markdown_table(table, title, metrics=labels) + "\n" + markdown_tests(
        tests.reset_index(), metrics=METRICS, split="valid")
