"""Modular-pipeline groups that name nodes, not datasets."""
from __future__ import annotations

from kedro.pipeline import Pipeline, pipeline


def grouped(stages: Pipeline, group: str) -> Pipeline:
    """`stages` with node names under `group` (`near_dedup` -> `curation.near_dedup`): kedro-viz
    draws the group as one collapsible box, `--from-nodes`/`--namespaces` can name it, and the
    datasets and parameters keep their names, so the catalog and the domain namespace applied
    around it are unchanged."""
    return pipeline(stages, namespace=group, prefix_datasets_with_namespace=False)
