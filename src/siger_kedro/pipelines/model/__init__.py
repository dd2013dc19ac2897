"""The per-model template (train -> score -> top-K -> plots) that every pipeline that trains uses."""
from .pipeline import EXPERIMENT, RUNS, bound, model_pipeline, template

__all__ = ["EXPERIMENT", "RUNS", "bound", "model_pipeline", "template"]
