"""Wall time of the benchmark evaluation (medical_eval) per model, against its budget.

Runs the eval pipeline's own nodes with the project's catalog and parameters: the question
selection, then `evaluate_<stage>_on_benchmarks` for base, PT, SFT and DPO (lm-eval on every
benchmark of the suite + perplexity on the held-out general text), then the report. A stage
model that is not on disk yet (no `make run` before) is replaced by the base model: same
architecture and size, so the same cost. Budgets (#13): on the shipped sample the eval adds
<= 3 minutes to `make run`; with `--env shared` one model's evaluation is <= 15 minutes.

    python benchmarks/eval_budget.py                 # shipped sample, 4 models (~2-3 min)
    python benchmarks/eval_budget.py --env shared    # public sets, base model only (~13 min)
writes benchmarks/results/eval_budget[_<env>].json.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from harness import machine, write_result

REPO = Path(__file__).resolve().parents[1]
BUDGET_S = {None: 180, "shared": 900}  # all four models / one model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default=None)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import torch
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from domainforge.pipelines.eval import STAGE_MODELS, nodes
    from domainforge.pipelines.training.nodes import prepare_base_model

    bootstrap_project(REPO)
    with KedroSession.create(project_path=REPO, env=args.env) as session:
        context = session.load_context()
        catalog, params = context.catalog, context.params
    evaluation, benchmarks = params["medical"]["evaluation"], params["medical"]["benchmarks"]
    load = [os.getloadavg()[0]]
    started = time.perf_counter()
    questions = nodes.select_benchmarks(
        catalog.load("medical.raw_benchmarks"), benchmarks, params["benchmark_suites"], evaluation
    )
    heldout = catalog.load("medical.raw_heldout_general")
    select_s = time.perf_counter() - started
    base = prepare_base_model(params["base_model"], params["training_runtime"])
    stages = list(STAGE_MODELS) if args.env is None else ["base"]
    results, models, cpu = {}, {}, {}
    for stage in stages:
        name = f"medical.{STAGE_MODELS[stage]}"
        model = catalog.load(name) if stage != "base" and catalog.exists(name) else base
        models[stage] = str(model)
        before = time.process_time()
        results[stage] = nodes.benchmark_evaluation(stage)(model, questions, heldout, evaluation)
        cpu[stage] = time.process_time() - before
        load.append(os.getloadavg()[0])
        print(stage, f"{results[stage]['eval_seconds']:.1f} s wall, {cpu[stage]:.1f} s CPU", flush=True)
    report_s = None
    if len(results) == len(STAGE_MODELS):
        before = time.perf_counter()
        nodes.report_benchmarks(*(results[s] for s in STAGE_MODELS), evaluation)
        report_s = time.perf_counter() - before
    total = time.perf_counter() - started
    budget = BUDGET_S[args.env]
    measured = total if args.env is None else results["base"]["eval_seconds"]
    result = {
        "benchmark": "medical_eval nodes"
        + (" on the shipped sample, base/PT/SFT/DPO" if args.env is None else f" --env {args.env}, one model"),
        "suite": benchmarks["suite"],
        "questions": {n: len(b["questions"]) for n, b in questions.items()},
        "batch_size": evaluation["batch_size"],
        "models": models,
        "seconds": {
            "select_questions": round(select_s, 1),
            "per_model": {s: round(r["eval_seconds"], 1) for s, r in results.items()},
            "per_benchmark": {s: {n: round(b["seconds"], 1) for n, b in r["benchmarks"].items()} for s, r in results.items()},
            "report": None if report_s is None else round(report_s, 2),
            "total": round(total, 1),
        },
        # CPU seconds of this process (all its threads): what the evaluation costs whatever else
        # runs on the machine; on `torch_threads` dedicated cores the wall time is about
        # cpu / torch_threads, which is what the wall time above approaches on an idle machine.
        "cpu_seconds_per_model": {s: round(c, 1) for s, c in cpu.items()},
        "idle_machine_estimate_s": round(select_s + sum(cpu.values()) / torch.get_num_threads() + (report_s or 0), 1),
        "seconds_per_question": {
            n: round(b["seconds"] / b["n"], 3) for n, b in results["base"]["benchmarks"].items()
        },
        "accuracy": {s: {n: b["accuracy"] for n, b in r["benchmarks"].items()} for s, r in results.items()},
        "budget_s": budget,
        "within_budget": measured <= budget,
        # other processes on the machine slow every number above: see the load averages
        "machine": machine(torch_threads=torch.get_num_threads(), load_average_1min=load),
    }
    out = REPO / "benchmarks/results" / f"eval_budget{'' if args.env is None else '_' + args.env}.json"
    write_result(out, result)
    print(json.dumps(result["seconds"], indent=2), "within budget:", result["within_budget"])


if __name__ == "__main__":
    main()
