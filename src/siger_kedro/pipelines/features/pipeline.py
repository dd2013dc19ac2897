from kedro.pipeline import Node, Pipeline

from .nodes import extract_features


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                extract_features,
                inputs=["raw_dataset", "int_items", "int_dataset_info", "params:features"],
                outputs="feat_item_features",
                name="extract_features",
            )
        ], tags=["features"])
