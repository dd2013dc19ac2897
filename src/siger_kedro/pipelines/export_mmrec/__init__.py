"""The export_mmrec stage: the prepared dataset and its features in MMRec format."""
from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
