"""The sensitivity stage: SIGER's sensitivity to one parameter at a time (the paper's RQ4)."""
from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
