"""Benchmark evaluation of every stage's model, and the cross-stage training summary."""

from domainforge.pipelines.eval.pipeline import STAGE_MODELS, create_pipeline, domain_pipeline

__all__ = ["STAGE_MODELS", "create_pipeline", "domain_pipeline"]
