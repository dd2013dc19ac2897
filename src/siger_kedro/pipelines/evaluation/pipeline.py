from kedro.pipeline import Node, Pipeline

from .nodes import evaluate_model, plot_training_curve


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                evaluate_model,
                inputs=[
                    "int_interactions", "int_dataset_info", "int_user_ids", "int_item_ids",
                    "feat_item_features", "mi_ui_adjacency", "mi_user_item", "mi_eisg",
                    "mo_siger_weights", "mo_training_history",
                    "params:training", "params:evaluation",
                ],
                outputs=["rpt_metrics", "mo_recommendations"],
                name="evaluate_model",
            ),
            Node(
                plot_training_curve,
                inputs=["mo_training_history", "params:training"],
                outputs="rpt_training_curve",
                name="plot_training_curve",
            ),
        ]
    )
