"""Every model the project trains, by the name used in `conf/` and in reports.

Each entry names its module, which defines a frozen config dataclass (its hyper-parameters,
with the defaults of its paper) and `build(inputs, config, device) -> model`.
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

# Imported by name, not through importlib: the stage cache follows a node's imports to hash the
# code it runs, and would not see a model module loaded from a string.
from . import bm3, damrs, freedom, lattice, lgmrec, lightgcn, mgcn, miggt, siger, slmrec, vbpr
from .base import ModelInputs

# name -> (module, config class name); Table 1's order, SIGER last.
MODELS = {
    "lightgcn": (lightgcn, "LightGCNConfig"),
    "vbpr": (vbpr, "VBPRConfig"),
    "lattice": (lattice, "LatticeConfig"),
    "slmrec": (slmrec, "SLMRecConfig"),
    "freedom": (freedom, "FreedomConfig"),
    "bm3": (bm3, "BM3Config"),
    "mgcn": (mgcn, "MGCNConfig"),
    "lgmrec": (lgmrec, "LGMRecConfig"),
    "damrs": (damrs, "DAMRSConfig"),
    "miggt": (miggt, "MIGGTConfig"),
    "siger": (siger, "SigerConfig"),
}


def _spec(name: str):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    module, config_name = MODELS[name]
    return module, getattr(module, config_name)


def model_config(name: str, hyperparameters: dict | None = None):
    """The model's config with `hyperparameters` over its defaults; unknown keys are an error."""
    _, config_class = _spec(name)
    hyperparameters = dict(hyperparameters or {})
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(hyperparameters) - known)
    if unknown:
        raise ValueError(f"{name} has no hyper-parameter {unknown}; it has {sorted(known)}")
    return config_class(**hyperparameters)


def create_model(name: str, inputs: ModelInputs, hyperparameters: dict | None, device: torch.device) -> nn.Module:
    module, _ = _spec(name)
    return module.build(inputs, model_config(name, hyperparameters), device)
