"""A Kedro hook that times every node (wall and CPU seconds, loading and saving included) and saves the table at the end of
the run as the catalog dataset `node_timings` (data/08_reporting/node_timings.json): which stage
costs what, on the user's machine, for every run. Benchmarks read the same dataset.

CPU seconds are this process's plus its finished child processes' (the local engine's forked
workers); the Ray engine's workers are not children of the run, so for `engine: ray` the CPU
column covers the driver only.
"""
from __future__ import annotations

import logging
import resource
import time

from kedro.framework.hooks import hook_impl

log = logging.getLogger(__name__)
DATASET = "node_timings"


def _cpu_seconds() -> float:
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


class NodeTimingHook:
    """A node's time is its own run plus loading its inputs and saving its outputs: a node that
    returns a plan (the document stages) does its work when its sharded table is saved."""

    def __init__(self):
        self._catalog = None
        self._started: dict[tuple[str, str], tuple[float, float]] = {}
        self.nodes: dict[str, dict] = {}

    @hook_impl
    def after_catalog_created(self, catalog):
        self._catalog = catalog

    @hook_impl
    def before_pipeline_run(self):
        self.nodes = {}

    def _start(self, node, what: str) -> None:
        self._started[(node.name, what)] = (time.perf_counter(), _cpu_seconds())

    def _stop(self, node, what: str) -> None:
        wall, cpu = self._started.pop((node.name, what))
        entry = self.nodes.setdefault(node.name, {"wall_seconds": 0.0, "cpu_seconds": 0.0})
        entry["wall_seconds"] = round(entry["wall_seconds"] + time.perf_counter() - wall, 3)
        entry["cpu_seconds"] = round(entry["cpu_seconds"] + _cpu_seconds() - cpu, 3)

    @hook_impl
    def before_dataset_loaded(self, dataset_name, node):
        self._start(node, f"load {dataset_name}")

    @hook_impl
    def after_dataset_loaded(self, dataset_name, node):
        self._stop(node, f"load {dataset_name}")

    @hook_impl
    def before_node_run(self, node):
        self._start(node, "run")

    @hook_impl
    def after_node_run(self, node):
        self._stop(node, "run")

    @hook_impl
    def before_dataset_saved(self, dataset_name, node):
        self._start(node, f"save {dataset_name}")

    @hook_impl
    def after_dataset_saved(self, dataset_name, node):
        self._stop(node, f"save {dataset_name}")

    @hook_impl
    def after_pipeline_run(self):
        timings = {
            "wall_seconds": round(sum(n["wall_seconds"] for n in self.nodes.values()), 2),
            "nodes": dict(sorted(self.nodes.items(), key=lambda kv: -kv[1]["wall_seconds"])),
        }
        slowest = list(timings["nodes"].items())[:3]
        log.info("node timings: %.1f s in nodes; slowest %s", timings["wall_seconds"],
                 ", ".join(f"{name} {t['wall_seconds']:.1f} s" for name, t in slowest))
        if self._catalog is not None and DATASET in self._catalog:
            self._catalog.save(DATASET, timings)
