from kedro.pipeline import Node, Pipeline

from .nodes import bundle_for_mmrec


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                bundle_for_mmrec,
                inputs=["int_interactions", "int_user_ids", "int_item_ids", "feat_item_features"],
                outputs="prm_mmrec_export",
                name="export_mmrec",
            )
        ], tags=["export_mmrec"])
