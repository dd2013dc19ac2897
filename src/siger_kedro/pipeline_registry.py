"""Registry: the stages, `train` (raw data to the trained `train.model`, its metrics, top-K
list, curves and recommender, and the paper's Figure 1), `compare` (every model of Table 1
from raw data to the comparison report), `ablations` (SIGER's ablations over seeds),
`collaborative_coverage` (Figure 1 alone), `cold_start` (RQ2), `sensitivity` (RQ4), `recommend`
(top-k lists from a trained model) and `export_mmrec` (the prepared dataset with its features, in MMRec format)."""
from kedro.pipeline import Pipeline

from .pipelines import (
    ablations,
    cold_start,
    collaborative_coverage,
    compare,
    export_mmrec,
    features,
    graphs,
    ingest,
    recommend,
    sensitivity,
)
from .pipelines.model import model_pipeline


def register_pipelines() -> dict[str, Pipeline]:
    # The template for the model that `train.model` names; its settings are `train.settings`.
    model = model_pipeline("train", settings="params:train.settings")
    stages = {
        "ingest": ingest.create_pipeline(),
        "features": features.create_pipeline(),
        "graphs": graphs.create_pipeline(),
        "training": model.only_nodes_with_tags("training"),
        "evaluation": model.only_nodes_with_tags("evaluation"),
    }
    upstream = stages["ingest"] + stages["features"] + stages["graphs"]
    coverage = collaborative_coverage.create_pipeline()
    train = upstream + model + coverage
    # Not part of `train`: exporting is an explicit request.
    export = stages["ingest"] + stages["features"] + export_mmrec.create_pipeline()
    return {**stages, "compare": upstream + compare.create_pipeline(),
            "ablations": upstream + ablations.create_pipeline(), "export_mmrec": export,
            "collaborative_coverage": upstream + coverage, "cold_start": upstream + cold_start.create_pipeline(),
            "sensitivity": upstream + sensitivity.create_pipeline(),
            "recommend": recommend.create_pipeline(), "train": train, "__default__": train}
