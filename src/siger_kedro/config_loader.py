"""Kedro's OmegaConfigLoader plus the model settings, computed after every environment
(`base`, `local`, `test`) and every `--params` value has been merged:

- each model's block (`conf/base/parameters_models/<model>.yml`: hyperparameters, grid, its
  own training overrides) gets `model: <model>`, so a node that takes a block knows (and the
  stage cache sees) which model's code it runs;
- `train.settings` is the block of the model `train.model` names, the one the `train`
  pipeline trains (`kedro run --pipeline train --params train.model=freedom`).
"""
from __future__ import annotations

from typing import Any

from kedro.config import OmegaConfigLoader

from .models.registry import MODELS, check_model


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
        return with_model_settings(config) if key == "parameters" else config
