"""The benchmark evaluation's parameters as dataclasses (conf/base/parameters_eval.yml): every key,
its default and what it does, written once. Built with `typed_settings.from_params`, so a misspelt
key is an error naming it and the nearest known key."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from domainforge.typed_settings import from_params


@dataclass(frozen=True)
class PerplexitySettings:
    """`evaluation.perplexity`: held-out general text scored as the stage reports score text."""

    max_length: int = 512  # tokens per scored window
    max_tokens: int = 2048  # of the held-out text (~5 s a model on 2 CPU cores; 6000 tripled it)
    batch_tokens: int = 2048  # tokens per packed forward pass


@dataclass(frozen=True)
class HeldoutSettings:
    """`evaluation.heldout_general`: general text from a source outside every training mix (the
    forgetting check's perplexity), the `<domain>.raw_heldout_general` dataset."""

    source: str  # what it is, written into the reports


@dataclass(frozen=True)
class EvaluationSettings:
    """`evaluation`: how every stage's model is scored on the domain's benchmark suite."""

    heldout_general: HeldoutSettings
    batch_size: int = 8  # lm-eval requests per forward pass
    dtype: str = "float32"  # float32 | bfloat16 | float16
    bootstrap_iters: int = 10000  # 95% percentile bootstrap: accuracy and paired difference vs base
    seed: int = 0  # of the bootstrap
    perplexity: PerplexitySettings = field(default_factory=PerplexitySettings)


@dataclass(frozen=True)
class BenchmarkSpec:
    """One benchmark of a suite (`benchmark_suites.<suite>[i]`, read by evaluation/suite.py)."""

    name: str  # unique in the suite
    files: tuple[str, ...]  # globs on the path inside the benchmarks folder
    format: str  # an adapter in suite.FORMATS: mcq_jsonl, mmlu_csv, cmmlu_csv, medqa_jsonl, ...
    role: Literal["domain", "general"]  # general sets are the forgetting check
    exclude: tuple[str, ...] = ()  # globs dropped from `files` (e.g. the medical subjects)
    shots: int = 0  # few-shot examples: the first `shots` records of `fewshot`
    fewshot: tuple[str, ...] | None = None  # globs of the dev files (needed when shots > 0)
    limit: int | None = None  # score only this many questions (round-robin across the files)
    language: Literal["zh", "en"] | None = None  # null: detected from the questions' Han share
    ids_file: str | None = None  # PubMedQA: the JSON of test ids


@dataclass(frozen=True)
class BenchmarksSettings:
    """`<domain>.benchmarks`: which suite the domain is scored on, and an env's question budget."""

    suite: str  # a key of benchmark_suites
    limits: dict[str, int] = field(default_factory=dict)  # benchmark name -> questions scored


def evaluation_settings(params: Mapping | EvaluationSettings) -> EvaluationSettings:
    return from_params(EvaluationSettings, params, "evaluation")
