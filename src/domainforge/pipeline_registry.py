"""Pipelines per domain: the domain-agnostic stage pipelines, namespaced by domain.

A domain is any top-level parameters key with an `ingest` section, read through Kedro's config
loader (`project_config.config_loader`: the session's env, `conf/local`, KEDRO_ENV), so a new
domain needs only its parameters (usually conf/base/parameters_<domain>.yml) and its
data/01_raw/<domain>/ folder. Stage modules are imported explicitly: composing `medical` from
`find_pipelines()` breaks `--pipelines medical` in Kedro 1.7.

Node names are grouped as modular pipelines, `<domain>.curation`, `<domain>.training.<stage>`,
`<domain>.rag` and `<domain>.eval` (`medical.curation.near_dedup`), so kedro-viz draws each as a
collapsible group and the collapsed graph reads as the recipe. The groups name nodes only
(`grouped`): dataset and parameter names carry the domain alone (`medical.documents_curated`).
"""
from __future__ import annotations

from kedro.config import AbstractConfigLoader
from kedro.pipeline import Pipeline, pipeline

from domainforge.pipelines import data, rag, training
from domainforge.pipelines import eval as benchmark_eval
from domainforge.pipelines.grouping import grouped
from domainforge.project_config import config_loader


def discover_domains(loader: AbstractConfigLoader | None = None) -> list[str]:
    parameters = (loader or config_loader())["parameters"]
    return sorted(key for key, value in parameters.items() if isinstance(value, dict) and "ingest" in value)


def domain_pipelines(domain: str) -> dict[str, Pipeline]:
    """`<domain>` (the whole build), `<domain>_data`, one per training stage, `<domain>_train`
    (all training stages), `<domain>_rag` and `<domain>_eval` (benchmarks, training summary)."""
    out = {
        f"{domain}_data": pipeline(
            grouped(data.create_pipeline(), "curation"),
            namespace=domain,
            parameters={"params:curation_runtime", "params:benchmark_suites"},
        )
    }
    stages = training.domain_pipelines(domain)  # <domain>_pt, _sft, _rm, _dpo
    out.update(stages)
    out[f"{domain}_train"] = training.create_base_model_pipeline() + sum(stages.values(), Pipeline([]))
    out[f"{domain}_rag"] = pipeline(grouped(rag.create_pipeline(), "rag"), namespace=domain, parameters={"params:curation_runtime"})
    out[f"{domain}_eval"] = benchmark_eval.domain_pipeline(domain)  # after each stage; ends in the summary
    out[domain] = out[f"{domain}_data"] + out[f"{domain}_train"] + out[f"{domain}_rag"] + out[f"{domain}_eval"]
    return out


def register_pipelines() -> dict[str, Pipeline]:
    pipelines: dict[str, Pipeline] = {"base_model": training.create_base_model_pipeline()}
    for domain in discover_domains():
        pipelines.update(domain_pipelines(domain))
    pipelines["__default__"] = pipelines.get("medical", Pipeline([]))
    return pipelines
