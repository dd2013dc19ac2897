"""The registered MLflow model: loaded in a fresh process it gives the lists `recommend` gives,
and `mlflow models serve` answers POST /invocations on 127.0.0.1."""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pandas as pd
import pytest

from projects import run_pipeline
from servers import free_port, project_env, running

USERS = ["u5", "u2", "u9"]


def _recommend(project, k: int) -> pd.DataFrame:
    run_pipeline(project, "recommend", **{"recommend.users": ";".join(USERS), "recommend.k": k})
    return pd.read_parquet(project / "data" / "07_model_output" / "tiny" / "recommendations.parquet")


def test_the_pyfunc_model_in_a_fresh_process_gives_the_recommend_lists(in_trained_project, tmp_path):
    project = in_trained_project
    expected = _recommend(project, k=3)
    script = ("import sys, mlflow, pandas as pd\n"
              "model = mlflow.pyfunc.load_model('models:/siger-tiny/1')\n"
              f"out = model.predict(pd.DataFrame({{'user': {USERS!r}, 'k': 3}}))\n"
              "out.to_parquet(sys.argv[1])\n")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "out.parquet")], cwd=project, env=project_env(project),
                   check=True, timeout=300, capture_output=True)
    got = pd.read_parquet(tmp_path / "out.parquet")
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def model_server(in_trained_project):
    port = free_port()
    with running(["mlflow", "models", "serve", "-m", "models:/siger-tiny/1", "--env-manager", "local",
                  "-h", "127.0.0.1", "-p", str(port), "-w", "1"], in_trained_project, "/ping", port) as url:
        yield url


def test_the_served_model_answers_invocations(in_trained_project, model_server):
    expected = _recommend(in_trained_project, k=2)
    status, body = _post(f"{model_server}/invocations",
                         {"dataframe_records": [{"user": u, "k": 2} for u in USERS]})
    assert status == 200
    got = pd.DataFrame(body["predictions"])
    assert got[["user", "rank", "item", "title"]].to_dict("records") == \
        expected[["user", "rank", "item", "title"]].to_dict("records")
    assert got["score"].tolist() == pytest.approx(expected["score"].tolist(), rel=1e-5)

    status, body = _post(f"{model_server}/invocations", {"dataframe_records": [{"user": "nobody"}]})
    assert status >= 400 and "nobody not in dataset tiny" in json.dumps(body)
    status, body = _post(f"{model_server}/invocations", {"dataframe_records": [{"user": "nobody", "k": 2}],
                                                         "params": {"unknown_users": "popular"}})
    assert status == 200 and {p["source"] for p in body["predictions"]} == {"popular"}
