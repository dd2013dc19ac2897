"""The recommender as an MLflow pyfunc model, logged "from code": the logged model holds the
recommender folder (plain arrays and tables) and `model_code.py`, which names the class
below; nothing in it is a pickle, so loading a model from a shared registry runs only this
installed package's code (docs/security.md)."""
from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

from .recommender import Recommender

ARTIFACT = "recommender"  # the logged model's name in its run, and its artifact key
SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", "user"), ColSpec("long", "k", required=False)]),
    outputs=Schema([ColSpec("string", "user"), ColSpec("long", "rank"), ColSpec("string", "item"),
                    ColSpec("string", "title"), ColSpec("float", "score"), ColSpec("string", "source")]),
    params=ParamSchema([ParamSpec("keep_seen", "boolean", False), ParamSpec("unknown_users", "string", "error")]),
)
# What scoring imports; the siger-kedro package itself must be installed where the model is served.
REQUIREMENTS = ("mlflow", "numpy", "pandas", "pyarrow", "scipy", "torch")


class RecommenderModel(PythonModel):
    """Input: a DataFrame with a `user` column of original user ids and, optionally, `k` (the
    list length per row; the trained default otherwise). Output: one row per recommended item,
    in the input's order of users (Recommender.recommend). Parameters: keep_seen,
    unknown_users ("error" or "popular")."""

    def load_context(self, context) -> None:
        self.recommender = Recommender.load(context.artifacts[ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        params = params or {}
        if "user" not in model_input.columns:
            raise ValueError(f"the input needs a 'user' column of user ids; it has {list(model_input.columns)}")
        requests = model_input.assign(k=model_input["k"] if "k" in model_input.columns else self.recommender.k)
        frames = [self.recommender.recommend(list(group["user"]), int(k), bool(params.get("keep_seen", False)),
                                             params.get("unknown_users", "error"))
                  for k, group in requests.groupby("k", sort=False)]
        out = pd.concat(frames, ignore_index=True)
        order = {u: i for i, u in enumerate(dict.fromkeys(model_input["user"].astype(str)))}
        return out.sort_values(["user", "rank"], key=lambda c: c.map(order) if c.name == "user" else c,
                               kind="stable").reset_index(drop=True)


def log_recommender(folder: str | Path, recommender: Recommender, registered_model_name: str | None = None):
    """Log the recommender folder as an MLflow model named `recommender` in the active run (and
    register it under `registered_model_name`); returns MLflow's ModelInfo."""
    return mlflow.pyfunc.log_model(
        name=ARTIFACT, python_model=str(Path(__file__).with_name("model_code.py")),
        artifacts={ARTIFACT: str(folder)}, signature=SIGNATURE,
        input_example=pd.DataFrame({"user": list(recommender.users[:2])}),
        pip_requirements=[f"{p}=={version(p)}" for p in REQUIREMENTS],
        registered_model_name=registered_model_name)
