"""`collaborative_coverage`: the paper's Figure 1 on the configured dataset."""
from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
