"""Kedro project settings."""
from siger_kedro.hooks import RunTrackingHooks

# kedro-mlflow (a plugin, registered by its entry point) opens and closes the MLflow run and
# logs parameters; this hook adds what it does not know: tags, live epoch metrics, results.
HOOKS = (RunTrackingHooks(),)

CONFIG_LOADER_ARGS = {"base_env": "base", "default_run_env": "local"}

# conf/test and conf/local override single keys of a stage's parameters, not the whole stage.
CONFIG_LOADER_ARGS["merge_strategy"] = {"parameters": "soft"}
