"""Kedro nodes of the benchmark evaluation: thin wrappers over `domainforge.evaluation` (lm-eval
scores the questions) and the training report (the summary and its forgetting check). torch and
lm-eval are imported when a node runs, not when the pipeline registry is built."""

from __future__ import annotations

import time
from collections.abc import Callable

import plotly.graph_objects as go

from domainforge.evaluation.report import accuracy_figure, benchmark_report
from domainforge.evaluation.settings import BenchmarksSettings, evaluation_settings
from domainforge.evaluation.suite import ROLES, score_suite, select_questions
from domainforge.training import report
from domainforge.training.artifacts import ModelDir
from domainforge.typed_settings import from_params


def select_benchmarks(raw_benchmarks: dict[str, bytes], benchmarks: dict, suites: dict, evaluation: dict) -> dict:
    """The questions of the domain's suite (`benchmarks.suite`, cut to `benchmarks.limits`)."""
    evaluation_settings(evaluation)  # checked here too: this node runs first
    chosen = from_params(BenchmarksSettings, benchmarks, "benchmarks")
    if chosen.suite not in suites:
        raise ValueError(f"benchmarks.suite {chosen.suite!r} is not in benchmark_suites ({sorted(suites)})")
    return select_questions(raw_benchmarks, suites[chosen.suite], chosen.limits, f"benchmark_suites.{chosen.suite}")


def heldout_texts(files: dict[str, bytes]) -> list[str]:
    """One paragraph per non-empty line of each UTF-8 file, in file-name order."""
    return [line.strip() for name in sorted(files) for line in files[name].decode("utf-8").splitlines() if line.strip()]


def benchmark_evaluation(stage: str) -> Callable[..., dict]:
    """A node scoring one stage's model on every benchmark, plus its perplexity on general text
    from outside the training mix; records the wall time of both."""

    def evaluate_on_benchmarks(
        model: ModelDir, questions: dict, heldout_general: dict[str, bytes], evaluation: dict
    ) -> dict:
        from domainforge.evaluation.mcq_eval import load_hf_model
        from domainforge.training import evaluate

        settings = evaluation_settings(evaluation)
        started = time.perf_counter()
        device = str(evaluate.device())
        lm = load_hf_model(model, device=device, dtype=settings.dtype, batch_size=settings.batch_size)
        scores = score_suite(
            lm,
            questions,
            device=device,
            batch_size=settings.batch_size,
            bootstrap_iters=settings.bootstrap_iters,
            seed=settings.seed,
        )
        perplexity = evaluate.perplexity(lm.model, lm.tokenizer, heldout_texts(heldout_general), settings.perplexity)
        return {
            "stage": stage,
            "model": str(model),
            "device": device,
            "eval_seconds": time.perf_counter() - started,
            "benchmarks": {name: {"role": questions[name]["role"], **s} for name, s in scores.items()},
            "heldout_general": {"source": settings.heldout_general.source, **perplexity},
        }

    evaluate_on_benchmarks.__name__ = f"evaluate_{stage}_on_benchmarks"
    return evaluate_on_benchmarks


def report_benchmarks(base: dict, pt: dict, sft: dict, dpo: dict, evaluation: dict) -> tuple[dict, ...]:
    """The benchmark report and one accuracy-by-stage chart per role (domain, general)."""
    results = {"base": base, "pt": pt, "sft": sft, "dpo": dpo}
    settings = evaluation_settings(evaluation)
    summary = benchmark_report(results, iters=settings.bootstrap_iters, seed=settings.seed)
    return (summary, *(accuracy_figure(summary, role) for role in ROLES))


def summarize_training(
    base: dict, pt: dict, sft: dict, rm: dict, dpo: dict, benchmarks: dict, checks: dict
) -> tuple[dict, go.Figure]:
    summary = report.summarize({"base": base, "pt": pt, "sft": sft, "rm": rm, "dpo": dpo}, checks, benchmarks)
    return summary, report.perplexity_figure(summary)
