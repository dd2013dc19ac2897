"""`recommend`: each requested user's top-k items from a trained model."""
from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
