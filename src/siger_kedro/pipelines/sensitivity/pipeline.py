"""`sensitivity`: per swept parameter, under namespace `sensitivity.<parameter>`, SIGER trained at
each of its values over seeds, over the shared cached upstream stages; one report. `kedro run`
sweeps only the parameters `sensitivity.parameters` selects (cli.py)."""
from kedro.pipeline import Node, Pipeline, pipeline

from ..model import EXPERIMENT, RUNS, bound
from .nodes import PARAMETERS, compile_sensitivity_report, train_values

NAMESPACE = "sensitivity"
PARAMS = ["params:siger", "params:sensitivity.seeds", "params:graphs", "params:training", "params:evaluation",
          "params:experiments"]


def _sweep(parameter: str) -> Pipeline:
    """One node, which takes only its own grid: changing another parameter's grid keeps it cached."""
    grid = f"params:sensitivity.grids.{parameter}"
    inputs = [*EXPERIMENT, "params:siger", "params:sensitivity.seeds", grid, "params:graphs", "params:training",
              "params:evaluation", "params:experiments", RUNS]
    node = Node(bound(train_values, parameter=parameter), inputs=inputs, outputs="results", name="train_values")
    return pipeline([node], namespace=f"{NAMESPACE}.{parameter}", inputs={*EXPERIMENT, RUNS},
                    parameters={*PARAMS, grid})


def create_pipeline(**kwargs) -> Pipeline:
    outputs = ["table", "markdown", "figure"]
    per_parameter = {f"results_of_{p}": f"{NAMESPACE}.{p}.results" for p in PARAMETERS}
    report = pipeline([Node(compile_sensitivity_report, name="compile_report", outputs=outputs,
                            inputs={"info": "int_dataset_info", "sensitivity": "params:sensitivity",
                                    **{name: name for name in per_parameter}})],
                      namespace=NAMESPACE, parameters={"params:sensitivity"},
                      inputs={"int_dataset_info": "int_dataset_info", **per_parameter})
    return Pipeline([sum((_sweep(p) for p in PARAMETERS), Pipeline([])) + report], tags=[NAMESPACE])
