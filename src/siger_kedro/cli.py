"""`kedro run` with stage caching and model selection.

- Nodes whose outputs were computed from the same inputs, parameters and code are skipped (see
  `siger_kedro.cache`); `--no-cache` runs everything.
- `compare` trains only the models `compare.models` selects: the nodes of the other models'
  namespaces (`compare.<model>`) are left out of the run; `sensitivity` likewise sweeps only the
  parameters `sensitivity.parameters` selects (`sensitivity.<parameter>`).

Explicit node selections (`--nodes`, `--from-nodes`, `--to-nodes`, `--tags`, ...) are honoured
as given.

- One run per dataset at a time: the dataset's lock (`siger_kedro.locks`) is held from the
  cache planning to the end of the run; `--lock-timeout` waits for another run to finish.
- A run that fails says why in MLflow, also when the error comes before kedro-mlflow opens the
  run (bad parameters, a held lock, the cache planning): `siger_kedro.run_status`."""
from __future__ import annotations

import logging
import operator
import time
from contextlib import contextmanager
from functools import reduce

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.project import pipelines, settings

from .cache import stale_nodes
from .hooks import cache_store
from .locks import dataset_lock
from .pipelines.compare.nodes import selected_models
from .pipelines.compare.pipeline import NAMESPACE as COMPARE
from .pipelines.sensitivity.nodes import selected_parameters
from .pipelines.sensitivity.pipeline import NAMESPACE as SENSITIVITY
from .run_status import record_failure

logger = logging.getLogger(__name__)
SELECTIONS = ("node_names", "from_nodes", "to_nodes", "from_inputs", "to_outputs", "tags", "namespaces")


@click.group(name="siger_kedro")
def cli() -> None:
    """Project commands."""


# pipeline namespace -> what its parameters select: `<namespace>.<name>` runs only for a selected name
SELECTED = {COMPARE: lambda params: selected_models(params.get("compare") or {}),
            SENSITIVITY: lambda params: selected_parameters(params.get("sensitivity") or {})}


def _selected(node, params: dict) -> bool:
    """False for a node of a model that `compare.models` leaves out, or of a parameter that
    `sensitivity.parameters` leaves out."""
    parts = (node.namespace or "").split(".")
    if parts[0] not in SELECTED or len(parts) < 2:
        return True
    return parts[1] in SELECTED[parts[0]](params)


def _plan(context, names: list[str], use_cache: bool) -> list[str] | None:
    """Names of the nodes to run: the selected models' and parameters' nodes, less the cached
    ones when `use_cache`; None when nothing needs to run."""
    nodes = reduce(operator.add, (pipelines[n] for n in names)).nodes
    wanted = [n.name for n in nodes if _selected(n, context.params)]
    if not use_cache:
        return wanted
    stale, _ = stale_nodes(nodes, context.catalog, cache_store(context.project_path))
    for node in nodes:
        if node.name not in stale and node.name in wanted:
            logger.info("cache hit: %s (outputs computed from the same inputs, parameters and code)", node.name)
    return [n for n in wanted if n in stale] or None


@contextmanager
def _failure_recorded(context, names: list[str]):
    """A failure in the block leaves an MLflow run that says why (run_status.record_failure),
    unless tracking is off for these pipelines."""
    since = time.time()
    try:
        yield
    except Exception as error:
        config = getattr(context, "mlflow", None)  # kedro-mlflow's, set up when the context was made
        if config is not None and not all(n in config.tracking.disable_tracking.pipelines for n in names):
            try:
                record_failure(config.server.mlflow_tracking_uri, config.tracking.experiment.name,
                               "+".join(names), error, since)
            except Exception as exc:  # the run's own error matters more than its record
                logger.warning("could not record the failure in MLflow: %s", exc)
        raise


@cli.command(name="run", params=[*kedro_run.params, click.Option(
    ["--no-cache"], is_flag=True, help="Run every node even where cached outputs are still valid."),
    click.Option(["--lock-timeout"], type=click.FloatRange(min=0), default=0, show_default=True,
                 help="Seconds to wait while another run holds the dataset's lock before giving up.")],
    help=kedro_run.help)
@click.pass_context
def run(ctx: click.Context, no_cache: bool, lock_timeout: float, **kwargs):
    names = list(kwargs["pipelines"] or [kwargs["pipeline"] or "__default__"])
    with settings.SESSION_CLASS.create(env=kwargs["env"], conf_source=kwargs["conf_source"],
                                       runtime_params=kwargs["params"]) as session:
        context = session.load_context()
    with _failure_recorded(context, names):
        context.params  # noqa: B018 - the parameter schema, before the lock is made
        dataset = context.config_loader.dataset_name()
        with dataset_lock(context.project_path / "data", dataset, lock_timeout):
            if not any(kwargs[s] for s in SELECTIONS):
                planned = _plan(context, names, use_cache=not no_cache)
                if planned is None:
                    logger.info("every node is cached: nothing to run (use --no-cache to force)")
                    return {}
                kwargs["node_names"] = tuple(planned)
            return ctx.invoke(kedro_run, **kwargs)
