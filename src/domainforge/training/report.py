"""Stage reports, loss curves and the cross-stage summary that checks the domain effect."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from domainforge.training.artifacts import ModelDir, to_plain

# Extra curves worth seeing next to the loss, when a stage logs them (trl DPO does).
_SECONDARY = ["rewards/accuracies", "rewards/margins"]


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
    """Training loss per optimizer step (plus DPO reward accuracy/margin on a second axis)."""
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


def summarize(reports: dict[str, dict], checks: dict) -> dict:
    """The effects the pipeline must show, each with its numbers and a pass flag.

    checks: max_general_ppl_increase_pct (forgetting budget), min_rm_accuracy, min_dpo_accuracy.
    """
    base, pt, sft = reports["base"], reports["pt"], reports["sft"]
    rm, dpo = reports["rm"], reports["dpo"]
    domain_before, domain_after = _perplexity(base, "domain"), _perplexity(pt, "domain")
    general_before, general_after = _perplexity(base, "general"), _perplexity(pt, "general")
    general_change = 100 * (general_after / general_before - 1) if general_before and general_after else None
    sft_before, sft_after = _chat_loss(base), _chat_loss(sft)
    rm_accuracy = rm["evaluation"]["accuracy"]
    dpo_accuracy = dpo["evaluation"]["preference"]["reward_accuracy"]
    result = {
        "domain_perplexity": {
            "base": domain_before,
            "pt": domain_after,
            "pass": None if None in (domain_before, domain_after) else domain_after < domain_before,
        },
        "general_perplexity": {
            "base": general_before,
            "pt": general_after,
            "change_pct": general_change,
            "pass": None
            if general_change is None
            else general_change <= checks["max_general_ppl_increase_pct"],
        },
        "sft_heldout_loss": {
            "base": sft_before,
            "sft": sft_after,
            "pass": None if None in (sft_before, sft_after) else sft_after < sft_before,
        },
        "rm_accuracy": {"value": rm_accuracy, "pass": rm_accuracy > checks["min_rm_accuracy"]},
        "dpo_reward_accuracy": {
            "value": dpo_accuracy,
            "pass": None if dpo_accuracy is None else dpo_accuracy > checks["min_dpo_accuracy"],
        },
        "perplexity_by_stage": {
            stage: {corpus: _perplexity(reports[stage], corpus) for corpus in ("domain", "general")}
            for stage in ("base", "pt", "sft", "dpo")
        },
    }
    result["all_pass"] = all(v["pass"] for v in result.values() if isinstance(v, dict) and "pass" in v)
    return to_plain(result)


def perplexity_figure(summary: dict) -> go.Figure:
    by_stage = summary["perplexity_by_stage"]
    stages = list(by_stage)
    figure = go.Figure(
        [
            go.Bar(name=corpus, x=stages, y=[by_stage[s][corpus] for s in stages])
            for corpus in ("domain", "general")
        ]
    )
    figure.update_layout(barmode="group", title="held-out perplexity by stage", yaxis_title="perplexity")
    return figure
