"""MLflow's rules for names, in one place (the bench and the Kedro hook both log metrics)."""
from __future__ import annotations

import re


def mlflow_key(name: str) -> str:
    """MLflow metric names cannot contain '@' (recall@20 is logged as recall_at_20) nor other
    characters outside letters, digits and `_-. /`."""
    return re.sub(r"[^\w\-. /]", "_", name.replace("@", "_at_"))


def mlflow_metrics(metrics: dict[str, float]) -> dict[str, float]:
    return {mlflow_key(k): float(v) for k, v in metrics.items()}
