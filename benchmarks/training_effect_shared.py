"""The domain effect of training on the real corpora: `--env shared` with the real base model.

Runs `kedro run --pipelines medical_data,medical_train,medical_eval --env shared` (curation of
../shared/data, then PT -> SFT -> RM -> DPO with the longer shared-env recipe, then the public
benchmarks and the training summary; the RAG index is left out: it only serves answers) and
collects what the training summary checks — domain perplexity down after PT, the forgetting
check (general benchmarks and held-out general perplexity, `training.checks`), held-out SFT loss
below the base model's, RM and DPO held-out accuracy above 0.5 — with the held-out set sizes
behind each number; the benchmark table (accuracy and 95% CI per model, each stage's paired
difference against the base model with its CI and McNemar p), the decontamination counts,
the wall time of each stage and node (the run's node timings) and of each model's evaluation,
and how many held-out preference pairs DPO's report can score at each window
(`training.eval.preference_max_length`; the tokenizer alone decides it).

    python benchmarks/training_effect_shared.py             # ~25 min + ~50 min eval on 2 CPU cores
    python benchmarks/training_effect_shared.py --collect   # only collect the reports of a finished run
                                                            # (keeps the run's minutes, machine, date, commit)
    python benchmarks/training_effect_shared.py --markdown  # the result file's benchmark table, for the README
writes benchmarks/results/training_effect_shared.json.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from harness import machine, write_result

REPO = Path(__file__).resolve().parents[1]
RESULT = REPO / "benchmarks/results/training_effect_shared.json"
STAGES = ("base", "pt", "sft", "rm", "dpo")
PREFERENCE_WINDOWS = (512, 1024, 1536)  # tokens; the shared env scores DPO pairs at 1536


def run() -> float:
    from kedro.framework.session import KedroSession

    started = time.perf_counter()
    with KedroSession.create(project_path=REPO, env="shared") as session:
        session.run(pipeline_names=["medical_data", "medical_train", "medical_eval"])  # eval writes the summary
    return time.perf_counter() - started


def collect() -> dict:
    from dataclasses import asdict

    from kedro.framework.session import KedroSession

    from domainforge.training.artifacts import ModelDir, to_plain
    from domainforge.training.evaluate import preference_sequences
    from domainforge.training.stage_settings import stage_settings

    with KedroSession.create(project_path=REPO, env="shared") as session:
        context = session.load_context()
        catalog, params = context.catalog, context.params["medical"]["training"]
        summary = catalog.load("medical.training_summary")
        reports = {stage: catalog.load(f"medical.training_report_{stage}") for stage in STAGES}
        benchmarks = catalog.load("medical.benchmark_report")
        decontamination = catalog.load("medical.decontamination_report")
        timings = catalog.load("node_timings")
        held_out_pairs = catalog.load("medical.preference_eval")
        tokenizer = ModelDir(catalog.load("medical.dpo_model")).load_tokenizer()
    evaluation = {stage: reports[stage]["evaluation"] for stage in STAGES}
    return {
        "summary": summary,
        "held_out": {
            "perplexity_tokens": {c: v["tokens"] for c, v in evaluation["base"]["perplexity"].items()},
            "sft_chats": {c: v["chats"] for c, v in evaluation["base"]["chat_loss"].items()},
            "rm_pairs": evaluation["rm"]["pairs"],
            "dpo_pairs": evaluation["dpo"]["preference"]["pairs"],
            "dpo_pairs_skipped": len(evaluation["dpo"]["preference"].get("skipped", [])),
        },
        "training": {stage: reports[stage]["training"] for stage in STAGES if reports[stage]["training"]},
        "recipe": {stage: to_plain(asdict(stage_settings(stage, params[stage]))) for stage in ("pt", "sft", "rm", "dpo")},
        "samples": {stage: evaluation[stage].get("samples") for stage in ("base", "pt", "sft", "dpo")},
        "benchmarks": benchmark_table(benchmarks),
        "eval_seconds": {stage: round(s, 1) for stage, s in benchmarks["eval_seconds"].items()},
        "decontamination": {k: decontamination[k] for k in ("ngram", "units", "benchmarks", "dropped", "rag_chunks")},
        "stage_seconds": stage_seconds(timings),
        "node_seconds": {name: round(t["wall_seconds"], 1) for name, t in timings["nodes"].items()},
        "preference_windows": {
            str(window): {"held_out_pairs": len(held_out_pairs),
                          "scorable": len(preference_sequences(tokenizer, held_out_pairs, window)[0])}
            for window in PREFERENCE_WINDOWS
        },
    }


def benchmark_table(report: dict) -> dict:
    """{benchmark: {role, n, by_stage: {stage: {accuracy, ci95, vs_base: {difference, ci95, p}}}}}."""

    def row(score: dict) -> dict:
        vs = score["vs_base"]
        return {
            "accuracy": round(score["accuracy"], 4),
            "ci95": [round(x, 4) for x in score["ci95"]],
            "vs_base": None if vs is None else {k: (round(v, 4) if isinstance(v, float) else v)
                                                for k, v in vs.items()},
        }

    return {
        name: {"role": b["role"], "language": b["language"], "n": b["n"],
               "by_stage": {stage: row(score) for stage, score in b["by_stage"].items()}}
        for name, b in report["benchmarks"].items()
    }


def stage_seconds(timings: dict) -> dict:
    """Wall seconds summed per node group: `medical.training.pt.continued_pretraining` counts
    towards `training.pt`, `medical.curation.near_dedup` towards `curation`."""
    totals: dict[str, float] = {}
    for name, t in timings["nodes"].items():
        group = ".".join(name.split(".")[1:-1]) or name
        totals[group] = totals.get(group, 0.0) + t["wall_seconds"]
    return {group: round(s, 1) for group, s in sorted(totals.items(), key=lambda kv: -kv[1])}


def markdown_table(result: dict) -> str:
    """Accuracy [95% CI] per benchmark and stage, and each stage's paired difference against the
    base model in points [95% CI]; `*` marks a difference whose CI excludes 0."""

    def cell(row: dict) -> str:
        text = f"{row['accuracy']:.3f} [{row['ci95'][0]:.2f}, {row['ci95'][1]:.2f}]"
        vs = row["vs_base"]
        if vs is not None:
            lo, hi = vs["ci95"]
            mark = "*" if lo > 0 or hi < 0 else ""
            text += f"<br>{100 * vs['difference']:+.1f}{mark} [{100 * lo:+.1f}, {100 * hi:+.1f}]"
        return text

    stages = ("base", "pt", "sft", "dpo")
    lines = ["| benchmark | role | n | " + " | ".join(stages) + " |", "|---|---|---|" + "---|" * len(stages)]
    for name, b in result["benchmarks"].items():
        lines.append(f"| {name} | {b['role']} | {b['n']} | " + " | ".join(cell(b["by_stage"][s]) for s in stages) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collect", action="store_true", help="collect the reports of a finished run")
    parser.add_argument("--markdown", action="store_true", help="print the result file's benchmark table")
    args = parser.parse_args()
    if args.markdown:
        print(markdown_table(json.loads(RESULT.read_text(encoding="utf-8"))))
        return
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(REPO)
    load = [os.getloadavg()[0]]
    seconds = None if args.collect else run()
    result = {
        "benchmark": "kedro run --pipelines medical_data,medical_train,medical_eval --env shared (real corpora, SmolLM2-135M)",
        "minutes": None if seconds is None else round(seconds / 60, 2),
        "machine": machine(load_average_1min=load),
        **collect(),
    }
    if args.collect and RESULT.exists():  # the reports are the earlier run's: so are these
        earlier = json.loads(RESULT.read_text(encoding="utf-8"))
        result.update({key: earlier.get(key) for key in ("minutes", "machine", "date", "git_commit")})
    write_result(RESULT, result)
    print(json.dumps(result["summary"], indent=2))


if __name__ == "__main__":
    main()
