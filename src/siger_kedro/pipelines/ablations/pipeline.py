"""`ablations`: SIGER and each of its ablations under namespace `ablations.<variant>` (plus one
node for the single-modality variants), over the shared cached upstream stages; one report."""
from kedro.pipeline import Node, Pipeline, pipeline

from ..model import EXPERIMENT, RUNS, bound
from .nodes import VARIANTS, compile_ablation_report, train_single_modalities, train_variant

NAMESPACE = "ablations"
PARAMS = ["params:siger", "params:ablations", "params:training", "params:evaluation", "params:experiments"]


def create_pipeline(**kwargs) -> Pipeline:
    variants = sum((pipeline([Node(bound(train_variant, variant=v), inputs=[*EXPERIMENT, *PARAMS, RUNS], outputs="results",
                                   name="train_variant")],
                             namespace=f"{NAMESPACE}.{v}", inputs={*EXPERIMENT, RUNS}, parameters=set(PARAMS))
                    for v in VARIANTS), Pipeline([]))
    outputs = ["rpt_ablations_table", "rpt_ablations_markdown"]
    rest = pipeline([
        Node(train_single_modalities, inputs=[*EXPERIMENT, *PARAMS, RUNS], outputs="single_modalities",
             name="train_single_modalities"),
        Node(compile_ablation_report, name="compile_report", outputs=outputs,
             inputs={"info": "int_dataset_info", "ablations": "params:ablations",
                     "single_modalities": "single_modalities", **{v: f"results_of_{v}" for v in VARIANTS}}),
    ], namespace=NAMESPACE, outputs=set(outputs), parameters=set(PARAMS),
        inputs={**{name: name for name in ("int_dataset_info", *EXPERIMENT, RUNS)},
                **{f"results_of_{v}": f"{NAMESPACE}.{v}.results" for v in VARIANTS}})
    return Pipeline([variants + rest], tags=["ablations"])
