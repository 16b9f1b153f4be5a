"""The benchmark report across training stages: accuracy with its CI per model and benchmark,
and each stage's paired difference against the base model on the same questions."""

from __future__ import annotations

import plotly.graph_objects as go

from domainforge.evaluation.stats import compare_results

BASE = "base"


def benchmark_report(results: dict[str, dict], *, iters: int, seed: int) -> dict:
    """results: {stage: one model's results (`base` first) as the eval node writes them:
    {model, eval_seconds, benchmarks: {name: {role, ...evaluate_mcq scores}}, heldout_general}}.

    Returns {stages, benchmarks: {name: {role, language, shots, n, by_stage: {stage: {accuracy,
    ci95, acc_norm, acc_norm_ci95, vs_base}}}}, heldout_general_perplexity, eval_seconds, models};
    vs_base is `compare_results` (difference, paired bootstrap ci95, McNemar p), None for base.
    """
    if BASE not in results:
        raise ValueError(f"no {BASE!r} model among the results ({sorted(results)})")
    base = results[BASE]["benchmarks"]
    benchmarks = {}
    for name, first in base.items():
        by_stage = {}
        for stage, result in results.items():
            scores = result["benchmarks"][name]
            by_stage[stage] = {
                "accuracy": scores["accuracy"],
                "ci95": scores["ci95"],
                "acc_norm": scores.get("acc_norm"),
                "acc_norm_ci95": scores.get("acc_norm_ci95"),
                "vs_base": None if stage == BASE else compare_results(scores, first, iters=iters, seed=seed),
            }
        benchmarks[name] = {
            "role": first["role"],
            "language": first["language"],
            "shots": first["shots"],
            "n": first["n"],
            "by_stage": by_stage,
        }
    heldout = {stage: result["heldout_general"] for stage, result in results.items()}
    return {
        "stages": list(results),
        "benchmarks": benchmarks,
        "heldout_general_perplexity": {
            "source": heldout[BASE].get("source"),
            "by_stage": {stage: {k: v for k, v in h.items() if k != "source"} for stage, h in heldout.items()},
        },
        "eval_seconds": {stage: result["eval_seconds"] for stage, result in results.items()},
        "models": {stage: result["model"] for stage, result in results.items()},
        "lm_eval_version": next(iter(base.values()), {}).get("lm_eval_version"),
    }


def accuracy_figure(report: dict, role: str) -> go.Figure:
    """Accuracy by stage of the benchmarks with `role`, one bar group per stage, 95% CI bars."""
    stages = report["stages"]
    figure = go.Figure()
    for name, benchmark in report["benchmarks"].items():
        if benchmark["role"] != role:
            continue
        rows = [benchmark["by_stage"][stage] for stage in stages]
        accuracy = [row["accuracy"] for row in rows]
        figure.add_trace(
            go.Bar(
                name=f"{name} (n={benchmark['n']})",
                x=stages,
                y=accuracy,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [row["ci95"][1] - a for row, a in zip(rows, accuracy)],
                    "arrayminus": [a - row["ci95"][0] for row, a in zip(rows, accuracy)],
                },
            )
        )
    title = f"{role} benchmarks: accuracy by stage (95% bootstrap CI)"
    if not figure.data:
        title = f"no {role} benchmarks in this suite"
    figure.update_layout(
        barmode="group", title=title, xaxis_title="model", yaxis_title="accuracy", yaxis_range=[0, 1]
    )
    return figure
