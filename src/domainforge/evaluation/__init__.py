"""Benchmark evaluation: published multiple-choice sets → one shape → lm-evaluation-harness.

    from domainforge.evaluation import load_benchmark, write_mcq_jsonl, evaluate_mcq, compare_results

    write_mcq_jsonl(load_benchmark("../shared/data/benchmarks", "cmmlu", subjects=["anatomy"]), "cmmlu_anatomy.jsonl")
    base = evaluate_mcq("data/06_models/base_model", "cmmlu_anatomy.jsonl")
    tuned = evaluate_mcq("data/06_models/medical/sft_model", "cmmlu_anatomy.jsonl")
    compare_results(tuned, base)   # paired difference with bootstrap CI and McNemar p
"""

from domainforge.evaluation.benchmark_formats import (
    BENCHMARKS,
    CMMLU_MEDICAL,
    MMLU_MEDICAL,
    load_benchmark,
    load_cmmlu_csv,
    load_medmcqa_jsonl,
    load_medqa_jsonl,
    load_mmlu_csv,
    load_pubmedqa_json,
)
from domainforge.evaluation.mcq_eval import evaluate_mcq, load_hf_model
from domainforge.evaluation.mcq_records import McqFormatError, read_mcq_jsonl, write_mcq_jsonl
from domainforge.evaluation.prompt_language import detect_language, han_share
from domainforge.evaluation.stats import (
    accuracy_summary,
    bootstrap_ci,
    compare_results,
    mcnemar_exact_p,
    paired_difference,
)

__all__ = [
    "BENCHMARKS",
    "CMMLU_MEDICAL",
    "MMLU_MEDICAL",
    "McqFormatError",
    "accuracy_summary",
    "bootstrap_ci",
    "compare_results",
    "detect_language",
    "evaluate_mcq",
    "han_share",
    "load_benchmark",
    "load_cmmlu_csv",
    "load_hf_model",
    "load_medmcqa_jsonl",
    "load_medqa_jsonl",
    "load_mmlu_csv",
    "load_pubmedqa_json",
    "mcnemar_exact_p",
    "paired_difference",
    "read_mcq_jsonl",
    "write_mcq_jsonl",
]
