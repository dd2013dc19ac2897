"""The `recommend` node: find the trained recommender `recommend.source` names and list the
requested users' top-k items (serving/)."""
from __future__ import annotations

import logging

import pandas as pd

from ...serving.store import RecommenderStore, requested_users

logger = logging.getLogger(__name__)
PRINTED_USERS = 3  # lists shown in the log; all of them are in the parquet and CSV files


def recommend(store: RecommenderStore, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Columns user, rank, item, title, score, source; the same table for parquet and CSV."""
    recommender = store.get(params["source"])
    users = requested_users(params["users"], params["users_file"])
    lists = recommender.recommend(users, params["k"], params["keep_seen"], params["unknown_users"])
    logger.info("%d lists of up to %d items from %s (%s on %s)", lists["user"].nunique(), params["k"],
                params["source"], recommender.model, recommender.dataset,
                extra={"tags": {"recommend.source": params["source"], "recommend.model": recommender.model,
                                "dataset": recommender.dataset}})
    for user, group in list(lists.groupby("user", sort=False))[:PRINTED_USERS]:
        items = ", ".join(f"{t} [{i}]" if t else i for t, i in zip(group["title"], group["item"]))
        logger.info("user %s%s: %s", user, " (popular items: unknown user)" if group["source"].iat[0] == "popular"
                    else "", items)
    return lists, lists
