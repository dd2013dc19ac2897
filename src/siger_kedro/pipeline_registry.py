"""Registry: one key per stage, plus `train`, the whole DAG from raw data to the report."""
from kedro.pipeline import Pipeline

from .pipelines import evaluation, features, graphs, ingest, training


def register_pipelines() -> dict[str, Pipeline]:
    stages = {
        "ingest": ingest.create_pipeline(),
        "features": features.create_pipeline(),
        "graphs": graphs.create_pipeline(),
        "training": training.create_pipeline(),
        "evaluation": evaluation.create_pipeline(),
    }
    train = sum(stages.values(), Pipeline([]))
    return {**stages, "train": train, "__default__": train}
