"""Pipelines per domain: the domain-agnostic stage pipelines, namespaced by domain.

Stage modules are imported explicitly: composing `medical` from `find_pipelines()` breaks
`--pipelines medical` in Kedro 1.7.
"""
from __future__ import annotations

from kedro.pipeline import Pipeline, pipeline

from domainforge.pipelines import data

DOMAINS = ["medical", "legal"]


def domain_pipelines(domain: str) -> dict[str, Pipeline]:
    stages = {"data": pipeline(data.create_pipeline(), namespace=domain)}
    out = {f"{domain}_{stage}": p for stage, p in stages.items()}
    out[domain] = sum(stages.values(), Pipeline([]))
    return out


def register_pipelines() -> dict[str, Pipeline]:
    pipelines: dict[str, Pipeline] = {}
    for domain in DOMAINS:
        pipelines.update(domain_pipelines(domain))
    pipelines["__default__"] = pipelines["medical"]
    return pipelines
