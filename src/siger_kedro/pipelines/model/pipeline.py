"""The per-model template, the kedro-viz demo project's modular-pipeline pattern: one
`template()` instantiated with `pipeline(template, namespace=...)` by every pipeline that
trains: `train` (namespace `train`, the model named by `train.model`) and `compare` (namespace
`compare.<model>`, after that model's search)."""
from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline, pipeline

from .nodes import evaluate_model, package_recommender, plot_training_curve, train_model

# The upstream stages' outputs every model reads; shared, never namespaced.
EXPERIMENT = ["int_interactions", "int_dataset_info", "feat_item_features", "mi_ui_adjacency", "mi_user_item",
              "mi_eisg", "mi_cooccurrence_graph", "mi_modality_graphs", "mi_consistent_knn"]
RUNS = "mo_training_runs"  # the run store: checkpoints and finished runs, shared by all models
SHARED = {*EXPERIMENT, RUNS, "int_user_ids", "int_item_ids", "int_items"}
SHARED_PARAMS = {"params:training", "params:evaluation", "params:recommend"}


def template() -> Pipeline:
    """train -> score -> top-K -> recommender -> plots for the model of the `settings` input."""
    return Pipeline([
        Node(train_model, inputs=[*EXPERIMENT, "settings", "params:training", "params:evaluation", RUNS],
             outputs=["weights", "history"], name="train_model", tags=["training"]),
        Node(evaluate_model,
             inputs=[*EXPERIMENT, "int_user_ids", "int_item_ids", "settings", "weights", "history",
                     "params:training", "params:evaluation"],
             outputs=["metrics", "top_k"], name="evaluate_model", tags=["evaluation"]),
        Node(package_recommender,
             inputs=[*EXPERIMENT, "int_user_ids", "int_item_ids", "int_items", "settings", "weights",
                     "params:training", "params:recommend"],
             outputs="recommender", name="package_recommender", tags=["serving"]),
        Node(plot_training_curve, inputs=["history", "settings", "params:training"], outputs="training_curve",
             name="plot_training_curve", tags=["evaluation"]),
    ])


def model_pipeline(namespace: str, settings: str | None = None, extra: Pipeline | None = None,
                   parameters: set[str] = frozenset()) -> Pipeline:
    """The template (after `extra` nodes, e.g. a search that outputs `settings`) under
    `namespace`. `settings`: a parameter to read the model's settings from instead."""
    mapping = {name: name for name in SHARED}
    if settings:
        mapping["settings"] = settings
    return pipeline((extra or Pipeline([])) + template(), namespace=namespace, inputs=mapping,
                    parameters=set(SHARED_PARAMS) | set(parameters))


def bound(func, **fixed):
    """`func` with keyword arguments fixed (one per namespace, e.g. an ablation's variant),
    keeping its name and module (Kedro's and the cache's keys)."""
    return update_wrapper(partial(func, **fixed), func)
