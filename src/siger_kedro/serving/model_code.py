"""The code file of the logged MLflow model ("models from code"): MLflow copies it into the
model and runs it when the model is loaded. It only names the class; the installed package
defines it."""
from mlflow.models import set_model

from siger_kedro.serving.mlflow_model import RecommenderModel

set_model(RecommenderModel())
