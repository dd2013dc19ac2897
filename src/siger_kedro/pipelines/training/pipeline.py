from kedro.pipeline import Node, Pipeline

from .nodes import train_siger


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_siger,
                inputs=[
                    "int_interactions", "int_dataset_info", "feat_item_features",
                    "mi_ui_adjacency", "mi_user_item", "mi_eisg",
                    "params:training", "params:evaluation", "mo_training_checkpoint",
                ],
                outputs=["mo_siger_weights", "mo_training_history"],
                name="train_siger",
            )
        ]
    )
