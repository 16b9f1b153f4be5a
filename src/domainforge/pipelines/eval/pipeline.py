"""Benchmark evaluation: the base model and each stage's model scored on the domain's benchmark
suite (lm-evaluation-harness, `domainforge.evaluation`), the report with paired differences
against the base model, and the training summary that checks the domain effect and forgetting.

Each model's node reads that model's dataset, so it runs right after its stage in `<domain>` and
`--pipelines <domain>_eval` reruns only the evaluation (from the models on disk). The summary
lives here, not in the DPO stage, because it needs the benchmark report (an acyclic graph).
"""

from __future__ import annotations

from kedro.pipeline import Pipeline, node, pipeline

from domainforge.evaluation.suite import ROLES
from domainforge.pipelines.eval import nodes
from domainforge.pipelines.grouping import grouped

# stage -> the model dataset it evaluates (base_model is shared by every domain)
STAGE_MODELS = {"base": "base_model", "pt": "pt_model", "sft": "sft_model", "dpo": "dpo_model"}
SHARED_INPUTS = {"base_model"}
SHARED_PARAMETERS = {"params:benchmark_suites"}


def create_pipeline(**kwargs) -> Pipeline:
    """The un-namespaced evaluation pipeline."""
    evaluate = [
        node(
            nodes.benchmark_evaluation(stage),
            [model, "benchmark_questions", "raw_heldout_general", "params:evaluation"],
            f"benchmark_results_{stage}",
            name=f"evaluate_{stage}_on_benchmarks",
        )
        for stage, model in STAGE_MODELS.items()
    ]
    return pipeline(
        [
            node(
                nodes.select_benchmarks,
                ["raw_benchmarks", "params:benchmarks", "params:benchmark_suites", "params:evaluation"],
                "benchmark_questions",
                name="select_benchmark_questions",
            ),
            *evaluate,
            node(
                nodes.report_benchmarks,
                [f"benchmark_results_{stage}" for stage in STAGE_MODELS] + ["params:evaluation"],
                ["benchmark_report", *(f"benchmark_accuracy_{role}" for role in ROLES)],
                name="report_benchmarks",
            ),
            node(
                nodes.summarize_training,
                [f"training_report_{s}" for s in ("base", "pt", "sft", "rm", "dpo")]
                + ["benchmark_report", "params:training.checks"],
                ["training_summary", "perplexity_by_stage"],
                name="summarize_training",
            ),
        ],
        tags=["eval"],
    )


def domain_pipeline(domain: str) -> Pipeline:
    """`<domain>_eval`: namespaced (nodes `<domain>.eval.*`), with the base model and the suites
    kept global."""
    return pipeline(
        grouped(create_pipeline(), "eval"), namespace=domain, inputs=SHARED_INPUTS, parameters=SHARED_PARAMETERS
    )
