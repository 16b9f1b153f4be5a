"""Wall time of the main job (`kedro run --pipelines medical`) on the shipped sample, per node.

Runs the registered pipeline in a Kedro session, from scratch, and reads the per-node times the
project's NodeTimingHook saved (`node_timings`): training
stages get a fresh work_dir so nothing is reused from an earlier run. The target is the whole
job in at most 20 minutes on 2 CPU cores; the 1-minute load average is recorded because other
processes on a shared machine slow every number here down.

    python benchmarks/training_main_job.py                 # writes benchmarks/results/training_main_job.json
    python benchmarks/training_main_job.py --pipeline medical_pt
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from harness import machine, write_result

REPO = Path(__file__).resolve().parents[1]
RESULT = REPO / "benchmarks/results/training_main_job.json"
TRAINING_NODES = (
    "continued_pretraining",
    "supervised_finetuning",
    "reward_modelling",
    "direct_preference_optimization",
    "prepare_base_model",
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pipeline", default="medical")
    args = parser.parse_args()

    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(REPO)
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(dir=REPO / "data") as work_dir:
        runtime = {"training_runtime": {"work_dir": work_dir}}
        with KedroSession.create(project_path=REPO, runtime_params=runtime) as session:
            started = time.perf_counter()
            session.run(pipeline_names=[args.pipeline])
            total = time.perf_counter() - started
        with KedroSession.create(project_path=REPO) as session:  # the project's NodeTimingHook saved them
            seconds = {n: t["wall_seconds"] for n, t in session.load_context().catalog.load("node_timings")["nodes"].items()}
    load.append(os.getloadavg()[0])
    training = {name: s for name, s in seconds.items() if name.split(".")[-1] in TRAINING_NODES}
    evaluation = {name: s for name, s in seconds.items() if "evaluate" in name}
    result = {
        "benchmark": f"kedro run --pipelines {args.pipeline} on the shipped sample, from scratch",
        "target_minutes": 20,
        "total_minutes": round(total / 60, 2),
        "training_minutes": round(sum(training.values()) / 60, 2),
        "evaluation_minutes": round(sum(evaluation.values()) / 60, 2),
        "machine": machine(load_average_1min=load),
        "node_seconds": dict(sorted(seconds.items(), key=lambda kv: -kv[1])),
    }
    write_result(RESULT, result)
    print(json.dumps({k: v for k, v in result.items() if k != "node_seconds"}, indent=2))


if __name__ == "__main__":
    main()
