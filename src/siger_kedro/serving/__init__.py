"""From a trained model to recommendations: the recommender folder (recommender.py) and the
MLflow model that serves it (mlflow_model.py)."""
from .recommender import Recommender, UnknownUserError, recommender_from_training

__all__ = ["Recommender", "UnknownUserError", "recommender_from_training"]
