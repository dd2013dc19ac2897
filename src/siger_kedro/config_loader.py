"""Kedro's OmegaConfigLoader plus the model settings, computed after every environment
(`base`, `local`, `test`) and every `--params` value has been merged:

- each model's block (`conf/base/parameters_models/<model>.yml`: hyperparameters, grid, its
  own training overrides) gets `model: <model>`, so a node that takes a block knows (and the
  stage cache sees) which model's code it runs;
- `train.settings` is the block of the model `train.model` names, the one the `train`
  pipeline trains (`kedro run --pipeline train --params train.model=freedom`).

It also refuses, before anything runs, parameters outside their schema (parameters.py), a
dataset name that is not one folder name and a catalog path outside the project's `data/`
(paths.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.config import OmegaConfigLoader

from .models.registry import MODELS, check_model
from .parameters import check_parameters
from .paths import check_catalog_paths, check_name


def with_model_settings(params: dict[str, Any]) -> dict[str, Any]:
    params = dict(params)
    for name in MODELS:
        if isinstance(params.get(name), dict):
            params[name] = {**params[name], "model": name}
    train = params.get("train")
    if isinstance(train, dict) and "model" in train:
        try:
            name = check_model(str(train["model"]))
        except ValueError as exc:
            raise ValueError(f"train.model: {exc}") from None
        if not isinstance(params.get(name), dict):
            raise ValueError(f"train.model is {name!r}, but the parameters have no {name!r} block "
                             f"(expected conf/base/parameters_models/{name}.yml)")
        params["train"] = {**train, "settings": params[name]}
    return params


class ProjectConfigLoader(OmegaConfigLoader):
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

    def _check_names(self) -> None:
        runtime = self.runtime_params or {}
        globals_ = super().__getitem__("globals") if "globals" in self.config_patterns else {}
        check_name("dataset", runtime.get("dataset", globals_.get("dataset", "")))
        model = (runtime.get("train") or {}).get("model", globals_.get("model"))
        if model is not None:
            check_name("train.model", model)
