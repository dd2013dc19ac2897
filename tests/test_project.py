"""The project as users see it: the registered pipelines (kedro-viz: tests/serving/test_ui.py)."""

from siger_kedro.pipeline_registry import register_pipelines


def test_train_pipeline_is_every_stage_in_order():
    pipelines = register_pipelines()
    assert {"ingest", "features", "graphs", "training", "evaluation", "train", "__default__"} <= set(pipelines)
    train = pipelines["train"]
    assert [n.name for n in train.nodes][0] == "prepare_dataset"
    assert train.inputs() == {"raw_dataset", "params:ingest", "params:features", "params:graphs.cooccurrence_k",
                              "params:graphs.knn_k", "params:graphs.knn_backend", "params:graphs.beta", "params:training",
                              "params:evaluation", "params:train.settings", "params:recommend", "mo_training_runs"}


