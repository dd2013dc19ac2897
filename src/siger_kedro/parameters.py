"""The parameters as the project reads them, computed after every environment (`base`,
`local`, `test`) and every `--params` value has been merged (settings.py's config loader):

- each model's block (`conf/base/parameters_models/<model>.yml`: hyperparameters, grid, its
  own training overrides) gets `model: <model>`, so a node that takes a block knows (and the
  stage cache sees) which model's code it runs;
- `train.settings` is the block of the model `train.model` names, the one the `train`
  pipeline trains (`kedro run --pipeline train --params train.model=freedom`);
- the schema, checked before any node runs: types, ranges and unknown keys, each error naming
  the key, the value and what is allowed; model hyper-parameters against the model's own
  config dataclass."""
from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Any, Literal

import torch
from pydantic import (BaseModel, ConfigDict, Field, NonNegativeInt, PositiveFloat, PositiveInt, TypeAdapter,
                      ValidationError, field_validator)

from .models.registry import MODELS, check_model, config_class


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


class ParameterError(ValueError):
    """One or more parameters are not what the project accepts."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Training(_Section):
    seed: int
    device: str
    processes: PositiveInt = 1
    epochs: PositiveInt
    batch_size: PositiveInt
    learning_rate: PositiveFloat
    weight_decay: float = Field(0.0, ge=0.0)
    lr_decay: float = Field(1.0, gt=0.0, le=1.0)
    lr_decay_every: PositiveInt = 1
    patience: PositiveInt
    valid_metric: str = Field(pattern=r"^(recall|ndcg|precision|map)@[1-9][0-9]*$")
    modalities: list[str] | None = None
    term_gradients: bool = True
    precision: Literal["fp32", "bf16"] = "fp32"

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:[0-9]+)?|mps", value):
            raise ValueError("must be auto, cpu, cuda, cuda:<index> or mps")
        if value.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError("asks for CUDA, but torch finds no CUDA device on this machine; use auto or cpu")
        return value


class Evaluation(_Section):
    ks: list[PositiveInt] = Field(min_length=1)
    batch_size: PositiveInt
    mask_valid_in_test: bool
    recommend_k: PositiveInt


class Graphs(_Section):
    cooccurrence_k: PositiveInt
    knn_k: PositiveInt
    knn_backend: Literal["exact", "faiss"]
    beta: float = Field(ge=0.0, le=1.0)


class Ingest(_Section):
    dataset: str
    split_seed: int


class Pruning(_Section):
    enabled: bool
    warmup_epochs: NonNegativeInt
    margin: float = Field(ge=0.0, lt=1.0)


class Compare(_Section):
    models: str | list[str]
    seeds: list[int] = Field(min_length=1)
    budget: PositiveInt | None
    search_seed: NonNegativeInt
    pruning: Pruning | None = None

    @field_validator("models")
    @classmethod
    def _models(cls, value):
        from .pipelines.compare.nodes import selected_models  # the one parser of compare.models

        selected_models({"models": value})
        return value


class ColdStart(_Section):
    cold_fraction: float = Field(gt=0.0, lt=1.0)
    seed: int
    models: str | list[str]
    seeds: list[int] = Field(min_length=1)

    @field_validator("models")
    @classmethod
    def _models(cls, value):
        try:
            Compare._models(value)
        except ValueError as exc:
            raise ValueError(str(exc).replace("compare.models", "cold_start.models")) from None
        return value


class Ablations(_Section):
    seeds: list[int] = Field(min_length=1)


class Experiments(_Section):
    workers: Annotated[int, Field(strict=True, gt=0)] = 1  # independent trainings side by side (training.pool)


# strict: a value of the wrong type is an error, not converted ("3" is not 3)
_Count = Annotated[int, Field(strict=True, gt=0)]
_Weight = Annotated[float, Field(strict=True, ge=0.0)]


class SensitivityGrids(_Section):
    """The values tried per parameter; one field per parameter the sensitivity pipeline sweeps
    (pipelines/sensitivity/nodes.py: PARAMETERS)."""
    cooccurrence_k: list[_Count] = Field(min_length=1)
    ii_layers: list[_Count] = Field(min_length=1)
    beta: list[Annotated[float, Field(strict=True, ge=0.0, le=1.0)]] = Field(min_length=1)
    epsilon: list[_Weight] = Field(min_length=1)
    lambda_p: list[_Weight] = Field(min_length=1)
    lambda_a: list[_Weight] = Field(min_length=1)
    tau_p: list[Annotated[float, Field(strict=True, gt=0.0)]] = Field(min_length=1)
    aux_warmup_epochs: list[NonNegativeInt] = Field(min_length=1)


class Sensitivity(_Section):
    parameters: str | list[str]
    seeds: list[int] = Field(min_length=1)
    grids: SensitivityGrids

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value):
        from .pipelines.sensitivity.nodes import selected_parameters  # the one parser of sensitivity.parameters

        selected_parameters({"parameters": value})
        return value


class Recommend(_Section):
    source: str = Field(pattern=r"^(latest|[0-9a-f]{32}|runs:/[0-9a-f]{32}/\S+|models:/\S+)$")
    users: str | int | list[str | int] | None = None
    users_file: str | None = None
    k: PositiveInt
    keep_seen: bool
    unknown_users: Literal["error", "popular"]
    title_columns: list[str]


class Train(_Section):
    model: Literal[MODELS]  # type: ignore[valid-type]
    settings: dict = {}


class ModelBlock(_Section):
    model: str
    hyperparameters: dict[str, Any] = {}
    grid: dict[str, list] = {}
    training: dict[str, Any] = {}


SECTIONS = {"training": Training, "evaluation": Evaluation, "graphs": Graphs, "ingest": Ingest,
            "compare": Compare, "ablations": Ablations, "train": Train, "recommend": Recommend,
            "cold_start": ColdStart, "sensitivity": Sensitivity, "experiments": Experiments}
FREE = {"features", "dataset"}  # checked by their own readers (feature specs) or as a folder name


def _messages(prefix: str, error: ValidationError) -> list[str]:
    out = []
    for e in error.errors():
        key = ".".join([prefix, *(str(p) for p in e["loc"])])
        if e["type"] == "extra_forbidden":
            out.append(f"{key}: unknown parameter (a typo?)")
        else:
            out.append(f"{key}: {e['input']!r} is not allowed: {e['msg'].removeprefix('Value error, ')}")
    return out


def _check_model(name: str, block: dict, training: dict) -> list[str]:
    try:
        block = ModelBlock(**block)
    except ValidationError as exc:
        return _messages(name, exc)
    cls, errors = config_class(name), []
    fields = {f.name for f in dataclasses.fields(cls)}
    adapter = TypeAdapter(cls)
    defaults = dataclasses.asdict(cls())
    for key in sorted(set(block.hyperparameters) - fields):
        errors.append(f"{name}.hyperparameters.{key}: unknown hyper-parameter of {name}; it has {sorted(fields)}")
    for key in sorted(set(block.grid) - fields):
        errors.append(f"{name}.grid.{key}: unknown hyper-parameter of {name}; it has {sorted(fields)}")
    tried = [("hyperparameters", {**defaults, **block.hyperparameters})]
    tried += [(f"grid.{k}", {**defaults, k: v}) for k, values in block.grid.items() if k in fields for v in values]
    for where, values in tried:
        try:
            adapter.validate_python({k: v for k, v in values.items() if k in fields})
        except ValidationError as exc:
            errors += _messages(f"{name}.{where}", exc)
    if block.training:  # the model's own overrides, over the shared settings (checked as `training`)
        try:
            Training(**{**training, **block.training})
        except ValidationError as exc:
            errors += [m for e, m in zip(exc.errors(), _messages(f"{name}.training", exc))
                       if e["loc"] and e["loc"][0] in block.training]
    return errors


def check_parameters(params: dict[str, Any]) -> None:
    """Raise ParameterError listing every parameter that is not allowed."""
    errors = []
    for key in sorted(set(params) - set(SECTIONS) - FREE - set(MODELS)):
        errors.append(f"{key}: unknown parameter section; known: {', '.join(sorted({*SECTIONS, *FREE, *MODELS}))}")
    for key, schema in SECTIONS.items():
        if key in params:
            try:
                schema(**(params[key] or {}))
            except ValidationError as exc:
                errors += _messages(key, exc)
            except ValueError as exc:  # raised inside a validator, e.g. compare.models
                errors.append(f"{key}: {exc}")
    training = params.get("training") or {}
    metric = str(training.get("valid_metric", ""))
    ks = (params.get("evaluation") or {}).get("ks") or []
    if "@" in metric and metric.split("@")[1].isdigit() and int(metric.split("@")[1]) not in ks:
        errors.append(f"training.valid_metric: {metric!r} is not allowed: its cut-off must be one of evaluation.ks {ks}")
    for name in MODELS:
        if isinstance(params.get(name), dict):
            errors += _check_model(name, params[name], training)
    if errors:
        raise ParameterError("bad parameters (nothing has run):\n  " + "\n  ".join(errors))


__all__ = ["ParameterError", "check_parameters"]
