from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_consistent_knn_graphs,
    build_cooccurrence_graph,
    build_eisg,
    build_interaction_graphs,
    build_modality_graphs,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_interaction_graphs,
                inputs=["int_interactions", "int_dataset_info"],
                outputs=["mi_ui_adjacency", "mi_user_item"],
                name="build_interaction_graphs",
            ),
            Node(
                build_cooccurrence_graph,
                inputs=["int_interactions", "int_dataset_info", "params:graphs.cooccurrence_k"],
                outputs="mi_cooccurrence_graph",
                name="build_cooccurrence_graph",
            ),
            Node(
                build_modality_graphs,
                inputs=["feat_item_features", "params:graphs.knn_k", "params:graphs.knn_backend"],
                outputs="mi_modality_graphs",
                name="build_modality_graphs",
            ),
            Node(
                build_consistent_knn_graphs,
                inputs=["feat_item_features", "params:graphs.knn_k"],
                outputs="mi_consistent_knn",
                name="build_consistent_knn_graphs",
            ),
            Node(
                build_eisg,
                inputs=["mi_cooccurrence_graph", "mi_modality_graphs", "params:graphs.beta"],
                outputs="mi_eisg",
                name="build_eisg",
            ),
        ], tags=["graphs"])
