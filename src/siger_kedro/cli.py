"""`kedro run` with stage caching: nodes whose outputs were computed from the same inputs,
parameters and code are skipped (see `siger_kedro.cache`). `--no-cache` runs everything;
explicit node selections (`--nodes`, `--from-nodes`, `--to-nodes`, `--tags`, ...) are honoured
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

logger = logging.getLogger(__name__)
SELECTIONS = ("node_names", "from_nodes", "to_nodes", "from_inputs", "to_outputs", "tags", "namespaces")


@click.group(name="siger_kedro")
def cli() -> None:
    """Project commands."""


def _plan(kwargs: dict) -> list[str] | None:
    """Stale node names of the selected pipeline; None when nothing needs to run."""
    names = kwargs["pipelines"] or [kwargs["pipeline"] or "__default__"]
    with settings.SESSION_CLASS.create(env=kwargs["env"], conf_source=kwargs["conf_source"],
                                       runtime_params=kwargs["params"]) as session:
        context = session.load_context()
        nodes = reduce(operator.add, (pipelines[n] for n in names)).nodes
        stale, _ = stale_nodes(nodes, context.catalog, cache_store(context.project_path))
    for node in nodes:
        if node.name not in stale:
            logger.info("cache hit: %s (outputs computed from the same inputs, parameters and code)", node.name)
    return stale or None


@cli.command(name="run", params=[*kedro_run.params, click.Option(
    ["--no-cache"], is_flag=True, help="Run every node even where cached outputs are still valid.")],
    help=kedro_run.help)
@click.pass_context
def run(ctx: click.Context, no_cache: bool, **kwargs):
    if not no_cache and not any(kwargs[s] for s in SELECTIONS):
        stale = _plan(kwargs)
        if stale is None:
            logger.info("every node is cached: nothing to run (use --no-cache to force)")
            return {}
        kwargs["node_names"] = tuple(stale)
    return ctx.invoke(kedro_run, **kwargs)
