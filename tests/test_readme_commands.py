"""Every command the README shows parses and names things that exist: `kedro run` commands
through the project's own `run` command (Kedro's option parsing, including how --params is
split), their pipelines, parameter keys and model names against the configuration, and the
modules of `python -m` commands."""
from __future__ import annotations

import importlib.util
import re
import shlex

import pytest

from siger_kedro.cli import run
from siger_kedro.pipeline_registry import register_pipelines
from siger_kedro.pipelines.compare.nodes import selected_models
from siger_kedro.settings import CONFIG_LOADER_ARGS, ProjectConfigLoader

from projects import ROOT

RUNTIME_ONLY = {"dataset"}  # read by the catalog at run time, not a parameter of conf/base


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    commands = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines() if line.strip()]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    spans = [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]
    commands += [s for s in spans if s.startswith(("kedro run", "python -m", ".venv/bin/"))]
    commands += [f"kedro run --pipeline train {s}" for s in spans if s.startswith("--params ")]  # ablation table
    # the README's placeholders stand for a user's own names
    return [c for c in commands if not re.search(r"<\w[\w ]*>|…", c)]


COMMANDS = readme_commands()


def _argv(command: str) -> list[str]:
    command = command.removeprefix("./setup.sh && ")
    return [a.removeprefix(".venv/bin/") if i == 0 else a for i, a in enumerate(shlex.split(command))]


def test_the_readme_shows_the_commands_this_test_checks():
    kedro_runs = [c for c in COMMANDS if _argv(c)[:2] == ["kedro", "run"]]
    assert len(kedro_runs) >= 12 and any("compare.models" in c or "train.model" in c for c in kedro_runs)
    assert any(_argv(c)[:2] == ["python", "-m"] for c in COMMANDS)


@pytest.mark.parametrize("command", [c for c in COMMANDS if _argv(c)[:2] == ["kedro", "run"]])
def test_kedro_run_command_parses_and_names_existing_pipelines_parameters_and_models(command):
    ctx = run.make_context("run", _argv(command)[2:])  # raises on what Kedro's parser refuses
    assert (ctx.params["pipeline"] or "__default__") in register_pipelines()
    runtime = dict(ctx.params["params"] or {})
    loader = ProjectConfigLoader(str(ROOT / "conf"), env=ctx.params["env"], runtime_params=runtime,
                                 **CONFIG_LOADER_ARGS)
    params = loader["parameters"]  # validates train.model
    base = ProjectConfigLoader(str(ROOT / "conf"), **CONFIG_LOADER_ARGS)["parameters"]

    def keys(tree, prefix=""):
        for k, v in tree.items():
            yield from keys(v, f"{prefix}{k}.") if isinstance(v, dict) and v else [f"{prefix}{k}"]

    for key in keys(runtime):
        if key.split(".")[0] in RUNTIME_ONLY:
            continue
        node = base
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, f"{command}: no parameter {key!r}"
            node = node[part]
    if "compare" in runtime:
        selected_models(params["compare"])


@pytest.mark.parametrize("command", [c for c in COMMANDS if _argv(c)[:2] == ["python", "-m"]])
def test_python_module_commands_name_existing_modules(command):
    module = _argv(command)[2]
    assert importlib.util.find_spec(module) is not None, command


def test_the_old_list_syntax_is_refused_as_kedro_refuses_it():
    # what the README used to show: Kedro splits --params on commas
    with pytest.raises(Exception, match="must contain a key and a value"):
        run.make_context("run", ["--pipeline", "compare", "--params", "compare.models=[lightgcn,siger]"])
