"""Pipelines per domain: the domain-agnostic stage pipelines, namespaced by domain.

A domain is any top-level parameters key with an `ingest` section, read through Kedro's config
loader (`project_config.config_loader`: the session's env, `conf/local`, KEDRO_ENV), so a new
domain needs only its parameters (usually conf/base/parameters_<domain>.yml) and its
data/01_raw/<domain>/ folder. Stage modules are imported explicitly: composing `medical` from
`find_pipelines()` breaks `--pipelines medical` in Kedro 1.7.
"""
from __future__ import annotations

from kedro.config import AbstractConfigLoader
from kedro.pipeline import Pipeline, pipeline

from domainforge.pipelines import data, rag, training
from domainforge.project_config import config_loader


def discover_domains(loader: AbstractConfigLoader | None = None) -> list[str]:
    parameters = (loader or config_loader())["parameters"]
    return sorted(key for key, value in parameters.items() if isinstance(value, dict) and "ingest" in value)


def domain_pipelines(domain: str) -> dict[str, Pipeline]:
    """`<domain>` (the whole build), `<domain>_data`, one per training stage, `<domain>_train`
    (all training stages) and `<domain>_rag`."""
    out = {f"{domain}_data": pipeline(data.create_pipeline(), namespace=domain)}
    stages = training.domain_pipelines(domain)  # <domain>_pt, _sft, _rm, _dpo
    out.update(stages)
    out[f"{domain}_train"] = training.create_base_model_pipeline() + sum(stages.values(), Pipeline([]))
    out[f"{domain}_rag"] = pipeline(rag.create_pipeline(), namespace=domain)
    out[domain] = out[f"{domain}_data"] + out[f"{domain}_train"] + out[f"{domain}_rag"]
    return out


def register_pipelines() -> dict[str, Pipeline]:
    pipelines: dict[str, Pipeline] = {"base_model": training.create_base_model_pipeline()}
    for domain in discover_domains():
        pipelines.update(domain_pipelines(domain))
    pipelines["__default__"] = pipelines.get("medical", Pipeline([]))
    return pipelines
