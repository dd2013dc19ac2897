"""`kedro run --pipeline recommend` after `train`, on tiny data: from the latest train, from
the train's MLflow run and from the registered model."""
from __future__ import annotations

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from projects import run_pipeline


def _store(project):
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    return client, client.get_experiment_by_name("siger_kedro").experiment_id


def _interactions(project) -> pd.DataFrame:
    inter = project / "data" / "01_raw" / "tiny" / "tiny.inter"
    df = pd.read_csv(inter, sep="\t")
    return df.rename(columns={"user_id:token": "user", "item_id:token": "item"})


def test_recommend_lists_unseen_items_with_titles_in_original_ids(in_trained_project):
    project = in_trained_project
    run_pipeline(project, "recommend", **{"recommend.users": "u3;u0", "recommend.k": 4})
    out = pd.read_parquet(project / "data" / "07_model_output" / "tiny" / "recommendations.parquet")
    csv = pd.read_csv(project / "data" / "07_model_output" / "tiny" / "recommendations.csv", dtype={"user": str})
    assert list(out.columns) == ["user", "rank", "item", "title", "score", "source"]
    assert out["user"].drop_duplicates().tolist() == ["u3", "u0"]  # the order asked for
    assert out.groupby("user").size().eq(4).all() and out["rank"].tolist() == [1, 2, 3, 4] * 2
    assert out["title"].str.startswith("Movie number ").all()
    assert (out["title"] == "Movie number " + out["item"].str[1:]).all()  # titles match their items
    seen = _interactions(project).groupby("user")["item"].apply(set)
    for user, group in out.groupby("user"):
        assert not set(group["item"]) & seen[user]  # nothing the user interacted with, in any split
        assert group["score"].is_monotonic_decreasing
    assert csv["item"].tolist() == out["item"].tolist()

    client, experiment = _store(project)
    run = client.search_runs([experiment], order_by=["attributes.start_time DESC"], max_results=1)[0]
    assert run.data.tags["recommend.model"] == "siger" and run.data.tags["recommend.source"] == "latest"
    names = {a.path for a in client.list_artifacts(run.info.run_id, "recommendations")}
    assert names == {"recommendations/recommendations.parquet", "recommendations/recommendations.csv"}


def test_keep_seen_brings_seen_items_back(in_trained_project):
    project = in_trained_project
    run_pipeline(project, "recommend", **{"recommend.users": "u0", "recommend.k": 30, "recommend.keep_seen": True})
    out = pd.read_parquet(project / "data" / "07_model_output" / "tiny" / "recommendations.parquet")
    assert len(out) == 30  # every item, seen or not
    assert set(out["item"]) >= _interactions(project).groupby("user")["item"].apply(set)["u0"]


def test_unknown_user_is_named_or_served_popular_items(in_trained_project):
    project = in_trained_project
    before = (project / "data" / "07_model_output" / "tiny" / "recommendations.parquet").read_bytes()
    with pytest.raises(Exception, match=r"user id\(s\) nobody not in dataset tiny"):
        run_pipeline(project, "recommend", **{"recommend.users": "nobody"})
    assert (project / "data" / "07_model_output" / "tiny" / "recommendations.parquet").read_bytes() == before
    run_pipeline(project, "recommend", **{"recommend.users": "nobody;u1", "recommend.unknown_users": "popular"})
    out = pd.read_parquet(project / "data" / "07_model_output" / "tiny" / "recommendations.parquet")
    assert out.groupby("user")["source"].first().to_dict() == {"nobody": "popular", "u1": "model"}


def test_the_same_lists_from_the_train_run_and_the_registered_model(in_trained_project):
    project = in_trained_project
    client, experiment = _store(project)
    version = max(client.search_model_versions("name='siger-tiny'"), key=lambda v: int(v.version))
    train_run = version.run_id
    path = project / "data" / "07_model_output" / "tiny" / "recommendations.parquet"
    lists = {}
    for source in ("latest", train_run, f"models:/siger-tiny/{version.version}"):
        run_pipeline(project, "recommend", **{"recommend.source": source, "recommend.users": "u5;u6"})
        lists[source] = pd.read_parquet(path)
    pd.testing.assert_frame_equal(lists["latest"], lists[train_run])
    pd.testing.assert_frame_equal(lists["latest"], lists[f"models:/siger-tiny/{version.version}"])
    with pytest.raises(Exception, match="no recommender model at models:/nosuch/1"):
        run_pipeline(project, "recommend", **{"recommend.source": "models:/nosuch/1"})
