"""A Kedro project around the installed package, for tests that run pipelines."""
from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_project(path: Path) -> Path:
    """A copy of the project's configuration in `path`, so that data/, mlflow.db and the MLflow
    artifacts of a test run stay there (the package itself is installed)."""
    # conf/local is the developer's own (git-ignored): tests start without it, as CI does
    shutil.copytree(ROOT / "conf", path / "conf", ignore=lambda d, names: names if d.endswith("/conf/local") else [])
    shutil.copy(ROOT / "pyproject.toml", path / "pyproject.toml")
    (path / "src").mkdir()  # bootstrap_project wants it
    # An absolute store: MLflow caches its SQLite engine by URI, so the relative default
    # would keep writing to the first test's file.
    mlflow_yml = path / "conf" / "base" / "mlflow.yml"
    mlflow_yml.write_text(mlflow_yml.read_text().replace("sqlite:///mlflow.db", f"sqlite:///{path / 'mlflow.db'}"))
    return path


def run_pipeline(project: Path, pipeline: str, env: str = "test", **params):
    """`kedro run --pipeline <pipeline> --env test --params ...` in-process (dataset tiny unless given)."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    runtime: dict = {"dataset": "tiny"}
    for key, value in params.items():  # "a.b": v -> {"a": {"b": v}}, as the CLI's --params does
        *parents, leaf = key.split(".")
        target = runtime
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    bootstrap_project(project)
    with KedroSession.create(project_path=project, env=env, runtime_params=runtime) as session:
        return session.run(pipeline_names=[pipeline])


def run_cli(project: Path, pipeline: str, *params: str, env: str = "test") -> None:
    """`kedro run --pipeline <pipeline> --env test --params dataset=tiny,...` as a user types it:
    through the project's own `run` command (stage cache, model and parameter selection)."""
    from click.testing import CliRunner
    from kedro.framework.startup import bootstrap_project

    from siger_kedro.cli import run

    bootstrap_project(project)
    result = CliRunner().invoke(run, ["--pipeline", pipeline, "--env", env, "--params",
                                      ",".join(["dataset=tiny", *params])], catch_exceptions=False)
    assert result.exit_code == 0, result.output
