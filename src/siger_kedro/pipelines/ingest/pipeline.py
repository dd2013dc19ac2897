from kedro.pipeline import Node, Pipeline

from .nodes import prepare_dataset


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                prepare_dataset,
                inputs=["raw_dataset", "params:ingest"],
                outputs=["int_interactions", "int_user_ids", "int_item_ids", "int_items", "int_dataset_info"],
                name="prepare_dataset",
            )
        ], tags=["ingest"])
