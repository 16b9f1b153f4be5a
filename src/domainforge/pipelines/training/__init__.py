"""Training stages (pt, sft, rm, dpo) and the shared base-model node."""

from domainforge.pipelines.training.pipeline import (
    create_base_model_pipeline,
    create_pipeline,
    domain_pipelines,
)

__all__ = ["create_base_model_pipeline", "create_pipeline", "domain_pipelines"]
