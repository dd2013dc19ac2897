from kedro.pipeline import Node, Pipeline, pipeline

from .nodes import recommend


def create_pipeline(**kwargs) -> Pipeline:
    node = Node(recommend, inputs=["recommenders", "params:recommend"],
                outputs=["recommendations", "recommendations_csv"], name="recommend", tags=["serving", "recommend"])
    return pipeline([node], namespace="recommend", parameters={"params:recommend"})
