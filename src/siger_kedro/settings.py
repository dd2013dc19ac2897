"""Kedro project settings."""
from siger_kedro.config_loader import ProjectConfigLoader
from siger_kedro.hooks import RunTrackingHooks

# kedro-mlflow (a plugin, registered by its entry point) opens and closes the MLflow run and
# logs parameters; this hook adds what it does not know: tags, live epoch metrics, results.
HOOKS = (RunTrackingHooks(),)

# Kedro's loader, plus each model's settings block named and `train.settings` selected.
CONFIG_LOADER_CLASS = ProjectConfigLoader
CONFIG_LOADER_ARGS = {"base_env": "base", "default_run_env": "local"}

# conf/test and conf/local override single keys of a stage's parameters, not the whole stage.
CONFIG_LOADER_ARGS["merge_strategy"] = {"parameters": "soft"}
