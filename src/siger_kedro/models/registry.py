"""Every model the project trains, by the name used in `conf/` and in reports.

A model is a module of this package that defines `build(inputs, config, device) -> model`,
with `config` annotated by a frozen dataclass of its hyper-parameters (the contract is
`base.ModelModule`; docs/adding-a-model.md). Models are found by looking for such modules,
so adding one touches only its module, its YAML and its test. Modules are imported by name
on demand: the stage cache keys a node on the code of the one model it trains (the model
named in its settings), not on every model's code.
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import typing
from pathlib import Path

import torch
from torch import nn

from .base import ModelInputs

# Table 1's order; models found beyond these come after them, by name, before SIGER.
TABLE_ORDER = ("lightgcn", "vbpr", "lattice", "slmrec", "freedom", "bm3", "mgcn", "lgmrec", "damrs", "miggt")
LAST = "siger"


def module_name(name: str) -> str:
    return f"{__package__}.{name}"


def _discover() -> tuple[str, ...]:
    names = []
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        source = (Path(__file__).parent / f"{info.name}.py")
        # A cheap textual check first, so helper modules are not imported for nothing.
        if source.is_file() and "\ndef build(" in source.read_text():
            names.append(info.name)
    known = [n for n in TABLE_ORDER if n in names]
    others = sorted(n for n in names if n not in TABLE_ORDER and n != LAST)
    return tuple(known + others + ([LAST] if LAST in names else []))


MODELS: tuple[str, ...] = _discover()


def check_model(name: str) -> str:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    return name


def model_module(name: str):
    return importlib.import_module(module_name(check_model(name)))


def config_class(name: str) -> type:
    """The frozen dataclass that `build`'s `config` argument is annotated with."""
    module = model_module(name)
    hints = typing.get_type_hints(module.build)
    cls = hints.get("config")
    if cls is None or not dataclasses.is_dataclass(cls):
        raise TypeError(f"{module.__name__}.build must annotate `config` with a dataclass")
    return cls


def model_config(name: str, hyperparameters: dict | None = None):
    """The model's config with `hyperparameters` over its defaults; unknown keys are an error."""
    cls = config_class(name)
    hyperparameters = dict(hyperparameters or {})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(hyperparameters) - known)
    if unknown:
        raise ValueError(f"{name} has no hyper-parameter {unknown}; it has {sorted(known)}")
    return cls(**hyperparameters)


def create_model(name: str, inputs: ModelInputs, hyperparameters: dict | None, device: torch.device) -> nn.Module:
    return model_module(name).build(inputs, model_config(name, hyperparameters), device)
