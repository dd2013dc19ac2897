"""The ablations stage: SIGER and its ablations of the paper, over seeds, on validation and test."""
from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
