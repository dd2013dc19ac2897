"""`kedro run` with stage caching and model selection.

- Nodes whose outputs were computed from the same inputs, parameters and code are skipped (see
  `siger_kedro.cache`); `--no-cache` runs everything.
- `compare` trains only the models `compare.models` selects: the nodes of the other models'
  namespaces (`compare.<model>`) are left out of the run.

Explicit node selections (`--nodes`, `--from-nodes`, `--to-nodes`, `--tags`, ...) are honoured
as given."""
from __future__ import annotations

import logging
import operator
from functools import reduce

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.project import pipelines, settings

from .cache import stale_nodes
from .hooks import cache_store
from .pipelines.compare.nodes import selected_models
from .pipelines.compare.pipeline import NAMESPACE as COMPARE

logger = logging.getLogger(__name__)
SELECTIONS = ("node_names", "from_nodes", "to_nodes", "from_inputs", "to_outputs", "tags", "namespaces")


@click.group(name="siger_kedro")
def cli() -> None:
    """Project commands."""


def _compared(node, params: dict) -> bool:
    """False for a node of a model that `compare.models` leaves out."""
    parts = (node.namespace or "").split(".")
    if parts[0] != COMPARE or len(parts) < 2:
        return True
    return parts[1] in selected_models(params.get("compare") or {})


def _plan(kwargs: dict, use_cache: bool) -> list[str] | None:
    """Names of the nodes to run: the selected models' nodes, less the cached ones when
    `use_cache`; None when nothing needs to run."""
    names = kwargs["pipelines"] or [kwargs["pipeline"] or "__default__"]
    with settings.SESSION_CLASS.create(env=kwargs["env"], conf_source=kwargs["conf_source"],
                                       runtime_params=kwargs["params"]) as session:
        context = session.load_context()
        nodes = reduce(operator.add, (pipelines[n] for n in names)).nodes
        wanted = [n.name for n in nodes if _compared(n, context.params)]
        if not use_cache:
            return wanted
        stale, _ = stale_nodes(nodes, context.catalog, cache_store(context.project_path))
    for node in nodes:
        if node.name not in stale and node.name in wanted:
            logger.info("cache hit: %s (outputs computed from the same inputs, parameters and code)", node.name)
    return [n for n in wanted if n in stale] or None


@cli.command(name="run", params=[*kedro_run.params, click.Option(
    ["--no-cache"], is_flag=True, help="Run every node even where cached outputs are still valid.")],
    help=kedro_run.help)
@click.pass_context
def run(ctx: click.Context, no_cache: bool, **kwargs):
    if not any(kwargs[s] for s in SELECTIONS):
        planned = _plan(kwargs, use_cache=not no_cache)
        if planned is None:
            logger.info("every node is cached: nothing to run (use --no-cache to force)")
            return {}
        kwargs["node_names"] = tuple(planned)
    return ctx.invoke(kedro_run, **kwargs)
