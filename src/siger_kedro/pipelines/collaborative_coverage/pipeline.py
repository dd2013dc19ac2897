from kedro.pipeline import Node, Pipeline, pipeline

from .nodes import collaborative_coverage

NAMESPACE = "collaborative_coverage"


def create_pipeline(**kwargs) -> Pipeline:
    node = Node(collaborative_coverage, inputs=["mi_cooccurrence_graph", "mi_modality_graphs", "mi_eisg",
                                                "int_dataset_info"],
                outputs=["counts", "figure"], name="collaborative_coverage")
    return pipeline([node], namespace=NAMESPACE, tags=[NAMESPACE],
                    inputs={"mi_cooccurrence_graph", "mi_modality_graphs", "mi_eisg", "int_dataset_info"})
