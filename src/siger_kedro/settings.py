"""Kedro project settings."""
from pathlib import Path
from typing import Any

from kedro.config import OmegaConfigLoader

from siger_kedro.hooks import RunTrackingHooks
from siger_kedro.parameters import check_parameters, with_model_settings
from siger_kedro.paths import check_catalog_paths, check_name


class ProjectConfigLoader(OmegaConfigLoader):
    """Kedro's loader, plus each model's settings named and `train.settings` selected, the
    parameters checked against their schema (parameters.py), and dataset names and catalog
    paths kept inside data/ (paths.py): all before any node runs."""

    def __getitem__(self, key: str) -> dict[str, Any]:
        config = super().__getitem__(key)
        if key == "parameters":
            config = with_model_settings(config)
            check_parameters(config)
            return config
        if key == "catalog":
            self._check_names()
            check_catalog_paths(config, Path(self.conf_source).resolve().parent)
        return config

    def dataset_name(self) -> str:
        """The run's dataset (--params dataset=..., else globals.yml), checked as a folder name."""
        runtime = self.runtime_params or {}
        return check_name("dataset", runtime.get("dataset", self._global_values().get("dataset", "")))

    def _global_values(self) -> dict[str, Any]:
        return super().__getitem__("globals") if "globals" in self.config_patterns else {}

    def _check_names(self) -> None:
        self.dataset_name()
        model = ((self.runtime_params or {}).get("train") or {}).get("model", self._global_values().get("model"))
        if model is not None:
            check_name("train.model", model)


# kedro-mlflow (a plugin, registered by its entry point) opens and closes the MLflow run and
# logs parameters; this hook adds what it does not know: tags, live epoch metrics, results.
HOOKS = (RunTrackingHooks(),)

CONFIG_LOADER_CLASS = ProjectConfigLoader
CONFIG_LOADER_ARGS = {"base_env": "base", "default_run_env": "local"}

# conf/test and conf/local override single keys of a stage's parameters, not the whole stage.
CONFIG_LOADER_ARGS["merge_strategy"] = {"parameters": "soft"}
