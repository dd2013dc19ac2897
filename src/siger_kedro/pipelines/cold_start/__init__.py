"""`cold_start`: the paper's RQ2 (Figure 3) on the configured dataset."""
from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
