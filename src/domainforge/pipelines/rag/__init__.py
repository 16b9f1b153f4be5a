"""Retrieval index over a domain's curated corpus."""
from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
