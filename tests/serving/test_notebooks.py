"""Both notebooks run top to bottom (nbclient) against a trained project, and are committed
without outputs."""
from __future__ import annotations

import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from projects import ROOT

NOTEBOOKS = ("exploration.ipynb", "results.ipynb")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_without_outputs(name):
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert "%load_ext kedro.ipython" in code[0].source


def _executed(project, name: str) -> str:
    folder = project / "notebooks"
    folder.mkdir(exist_ok=True)
    shutil.copy(ROOT / "notebooks" / name, folder / name)
    notebook = nbformat.read(folder / name, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for c in notebook.cells if c.cell_type == "code" for o in c.outputs)


def test_exploration_notebook_runs_on_the_project(in_trained_project):
    out = _executed(in_trained_project, "exploration.ipynb")
    assert "tiny: 24 users, 30 items" in out
    assert "co-occurring items also kNN neighbours" in out and "max_in_degree" in out


def test_results_notebook_shows_runs_and_a_users_recommendations(in_trained_project):
    out = _executed(in_trained_project, "results.ipynb")
    assert "runs in sqlite:///" in out and "siger" in out
    assert "recommends:" in out and "Movie number" in out
