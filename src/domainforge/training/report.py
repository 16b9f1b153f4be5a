"""Stage reports, loss curves and the cross-stage summary that checks the domain effect."""

from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from domainforge.training.artifacts import ModelDir, to_plain
from domainforge.training.stage_settings import ChecksSettings, checks_settings

# Extra curves worth seeing next to the loss, when a stage logs them (trl DPO and RewardTrainer do).
_SECONDARY = ["rewards/accuracies", "rewards/margins", "accuracy", "margin"]


def stage_report(stage: str, model: ModelDir, evaluation: dict) -> dict:
    """One JSON report: what was trained (summary + loss history) and how it evaluates."""
    info = ModelDir(model).run_info
    return to_plain(
        {
            "stage": stage,
            "model": str(model),
            "training": info.get("summary"),
            "history": info.get("history", []),
            "evaluation": evaluation,
        }
    )


def loss_curve(report: dict) -> go.Figure:
    """Training loss per optimizer step (plus DPO / RM training accuracy and margin on a second axis)."""
    rows = [h for h in report.get("history", []) if "loss" in h and "step" in h]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Scatter(x=[h["step"] for h in rows], y=[h["loss"] for h in rows], name="train loss"))
    for key in _SECONDARY:
        points = [h for h in rows if key in h]
        if points:
            figure.add_trace(
                go.Scatter(
                    x=[h["step"] for h in points], y=[h[key] for h in points], name=key, line={"dash": "dot"}
                ),
                secondary_y=True,
            )
    figure.update_layout(
        title=f"{report['stage']}: training loss", xaxis_title="optimizer step", yaxis_title="loss"
    )
    return figure


def _perplexity(report: dict, corpus: str) -> float | None:
    entry = (report.get("evaluation") or {}).get("perplexity", {}).get(corpus) or {}
    return entry.get("perplexity")


def _chat_loss(report: dict, corpus: str = "domain") -> float | None:
    entry = (report.get("evaluation") or {}).get("chat_loss", {}).get(corpus) or {}
    return entry.get("loss")


def forgetting_check(benchmarks: dict, checks: Mapping | ChecksSettings) -> dict:
    """Did a stage lose general ability? Two tests against the base model, per stage after it.

    general_benchmarks: on every `general` benchmark the paired accuracy difference to the base
    model (same questions) may be negative only within noise: its 95% CI's upper bound must be
    >= -max_general_accuracy_drop_points (points of accuracy). heldout_general_perplexity: on
    general text from a source outside the training mix, at most max_general_ppl_increase_pct
    above the base model's.
    """
    checks = checks_settings(checks)
    floor = -checks.max_general_accuracy_drop_points / 100
    stages = [stage for stage in benchmarks["stages"] if stage != "base"]
    general = {name: b for name, b in benchmarks["benchmarks"].items() if b["role"] == "general"}
    by_stage = {
        stage: {
            name: {
                "n": b["n"],
                "accuracy_base": b["by_stage"]["base"]["accuracy"],
                "accuracy": b["by_stage"][stage]["accuracy"],
                "difference": b["by_stage"][stage]["vs_base"]["difference"],
                "ci95": b["by_stage"][stage]["vs_base"]["ci95"],
                "pass": b["by_stage"][stage]["vs_base"]["ci95"][1] >= floor,
            }
            for name, b in general.items()
        }
        for stage in stages
    }
    heldout = benchmarks["heldout_general_perplexity"]
    perplexity = {stage: entry.get("perplexity") for stage, entry in heldout["by_stage"].items()}
    base = perplexity["base"]
    change = {stage: 100 * (perplexity[stage] / base - 1) if base and perplexity[stage] else None for stage in stages}
    limit = checks.max_general_ppl_increase_pct
    result = {
        "general_benchmarks": {
            "rule": f"paired 95% CI upper bound of (stage - base) accuracy >= {floor:+.3f}",
            "by_stage": by_stage,
            "pass": None if not general else all(v["pass"] for rows in by_stage.values() for v in rows.values()),
        },
        "heldout_general_perplexity": {
            "source": heldout.get("source"),
            "by_stage": perplexity,
            "change_pct": change,
            "max_increase_pct": limit,
            "pass": None if None in change.values() else all(c <= limit for c in change.values()),
        },
    }
    parts = [result["general_benchmarks"]["pass"], result["heldout_general_perplexity"]["pass"]]
    result["pass"] = None if None in parts else all(parts)
    return to_plain(result)


def summarize(reports: dict[str, dict], checks: Mapping | ChecksSettings, benchmarks: dict) -> dict:
    """The effects the pipeline must show, each with its numbers and a pass flag.

    reports: the stage reports (base, pt, sft, rm, dpo); their perplexities are on the held-out
    split of the training sources, so they are in distribution: domain perplexity shows PT
    learned the domain, general in-distribution perplexity is reported but checks nothing.
    benchmarks: the benchmark report (`domainforge.evaluation.report`), for `forgetting_check`.
    checks: `training.checks` (ChecksSettings: the forgetting limits, min_rm_accuracy,
    min_dpo_accuracy).
    """
    checks = checks_settings(checks)
    base, pt, sft = reports["base"], reports["pt"], reports["sft"]
    rm, dpo = reports["rm"], reports["dpo"]
    domain_before, domain_after = _perplexity(base, "domain"), _perplexity(pt, "domain")
    general_before, general_after = _perplexity(base, "general"), _perplexity(pt, "general")
    general_change = 100 * (general_after / general_before - 1) if general_before and general_after else None
    sft_before, sft_after = _chat_loss(base), _chat_loss(sft)
    rm_accuracy = rm["evaluation"]["accuracy"]
    dpo_accuracy = dpo["evaluation"]["preference"]["reward_accuracy"]
    forgetting = forgetting_check(benchmarks, checks)
    result = {
        "domain_perplexity": {
            "data": "in distribution: held-out split of the domain training sources",
            "base": domain_before,
            "pt": domain_after,
            "pass": None if None in (domain_before, domain_after) else domain_after < domain_before,
        },
        "general_perplexity_in_distribution": {
            "data": "held-out split of the general training sources: not a forgetting test",
            "base": general_before,
            "pt": general_after,
            "change_pct": general_change,
        },
        "forgetting": forgetting,
        "sft_heldout_loss": {
            "base": sft_before,
            "sft": sft_after,
            "pass": None if None in (sft_before, sft_after) else sft_after < sft_before,
        },
        "rm_accuracy": {
            "value": rm_accuracy,
            "pairs": rm["evaluation"]["pairs"],
            "ci95": rm["evaluation"].get("ci95"),
            "pass": rm_accuracy > checks.min_rm_accuracy,
        },
        "dpo_reward_accuracy": {
            "value": dpo_accuracy,
            "pairs": dpo["evaluation"]["preference"]["pairs"],
            "ci95": dpo["evaluation"]["preference"].get("ci95"),
            "pass": None if dpo_accuracy is None else dpo_accuracy > checks.min_dpo_accuracy,
        },
        "perplexity_by_stage": {
            stage: {
                "domain": _perplexity(reports[stage], "domain"),
                "general_in_distribution": _perplexity(reports[stage], "general"),
                "general_heldout": forgetting["heldout_general_perplexity"]["by_stage"].get(stage),
            }
            for stage in ("base", "pt", "sft", "dpo")
        },
    }
    result["all_pass"] = all(v["pass"] for v in result.values() if isinstance(v, dict) and "pass" in v)
    return to_plain(result)


def perplexity_figure(summary: dict) -> go.Figure:
    by_stage = summary["perplexity_by_stage"]
    stages = list(by_stage)
    corpora = {
        "domain": "domain (in distribution)",
        "general_in_distribution": "general (in distribution)",
        "general_heldout": "general (source outside the training mix)",
    }
    figure = go.Figure(
        [go.Bar(name=label, x=stages, y=[by_stage[s][corpus] for s in stages]) for corpus, label in corpora.items()]
    )
    figure.update_layout(barmode="group", title="held-out perplexity by stage", yaxis_title="perplexity")
    return figure
