"""`cold_start`: split -> train the chosen models once per seed -> report, under namespace
`cold_start`, over the shared cached upstream stages."""
from kedro.pipeline import Node, Pipeline, pipeline

from ...models.registry import MODELS
from ..model import RUNS
from .nodes import compile_cold_start_report, split_cold_items, train_cold_start

NAMESPACE = "cold_start"
SHARED = ["int_interactions", "int_dataset_info", "feat_item_features", "mi_modality_graphs", "mi_consistent_knn"]


def create_pipeline(**kwargs) -> Pipeline:
    params = ["params:cold_start", "params:graphs", "params:training", "params:evaluation", "params:experiments"]
    nodes = [
        Node(split_cold_items, inputs=["int_interactions", "params:cold_start"], outputs=["interactions", "cold_items"],
             name="split_cold_items"),
        Node(train_cold_start, inputs={"interactions": "interactions", "cold": "cold_items", "info": "int_dataset_info",
                                       "features": "feat_item_features", "knn": "mi_modality_graphs",
                                       "consistent_knn": "mi_consistent_knn", "cold_start": "params:cold_start",
                                       "graphs": "params:graphs", "training": "params:training",
                                       "evaluation": "params:evaluation", "experiments": "params:experiments",
                                       "runs": RUNS,
                                       **{m: f"params:{m}" for m in MODELS}},
             outputs="results", name="train_models"),
        Node(compile_cold_start_report, inputs=["int_dataset_info", "cold_items", "params:cold_start", "results"],
             outputs=["table", "markdown", "chart"], name="compile_report"),
    ]
    return pipeline(nodes, namespace=NAMESPACE, tags=[NAMESPACE], inputs={*SHARED, RUNS},
                    parameters={*params, *(f"params:{m}" for m in MODELS)})
