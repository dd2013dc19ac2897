"""`compare`: per model, under namespace `compare.<model>`, its grid search on validation, the
per-model template (train -> score -> top-K -> plots) on the chosen setting, and its seeds;
then one report node. `kedro run` trains only the models `compare.models` selects (cli.py)."""

from kedro.pipeline import Node, Pipeline, pipeline

from ...models.registry import MODELS
from ..model import EXPERIMENT, RUNS, model_pipeline
from .nodes import compile_report, search_hyperparameters, train_seeds

NAMESPACE = "compare"


def model_pipeline_for(model: str) -> Pipeline:
    params = ["params:compare", "params:training", "params:evaluation"]
    search = Pipeline([
        Node(search_hyperparameters, inputs=[*EXPERIMENT, f"params:{model}", *params, RUNS],
             outputs=["search", "settings"], name="search_hyperparameters"),
        Node(train_seeds, inputs=[*EXPERIMENT, "settings", *params, "params:experiments", RUNS],
             outputs=["results", "per_user"],
             name="train_seeds"),
    ])
    return model_pipeline(f"{NAMESPACE}.{model}", extra=search, parameters={f"params:{model}", "params:compare", "params:experiments"})


def create_pipeline(**kwargs) -> Pipeline:
    outputs = ["rpt_compare_table", "rpt_compare_user_tests", "rpt_compare_markdown", "rpt_compare_chart"]
    per_model = {f"{kind}_of_{m}": f"{NAMESPACE}.{m}.{kind}" for m in MODELS for kind in ("results", "per_user")}
    report = Node(compile_report, inputs={"info": "int_dataset_info", "compare": "params:compare",
                                          **{name: name for name in per_model}},
                  outputs=outputs, name="compile_report")
    report = pipeline([report], namespace=NAMESPACE, outputs=set(outputs), parameters={"params:compare"},
                      inputs={"int_dataset_info": "int_dataset_info", **per_model})
    return Pipeline([sum((model_pipeline_for(m) for m in MODELS), Pipeline([])) + report], tags=["compare"])
