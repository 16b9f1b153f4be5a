"""A benchmark suite from parameters: which files make each benchmark, read by which adapter.

A suite is a list of benchmark specs (conf/base/parameters_eval.yml), each a `BenchmarkSpec`
(evaluation/settings.py: its keys, defaults and meaning), e.g.

    {name: cmmlu_medical, files: [cmmlu/test/anatomy.csv, ...], format: cmmlu_csv, role: domain}

The files arrive as {relative path: bytes} (`RawFilesDataset`); the adapters read paths, so the
selected files are written to a scratch folder under their relative paths, which keeps the
record ids (`<folder>/<file>#L<line>`) those of the published files. With several files a
benchmark's questions are taken round-robin across them, so a `limit` covers every subject.
"""

from __future__ import annotations

import fnmatch
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from itertools import chain, zip_longest
from pathlib import Path
from typing import get_args, get_type_hints

from domainforge.evaluation.benchmark_formats import (
    load_cmmlu_csv,
    load_medmcqa_jsonl,
    load_medqa_jsonl,
    load_mmlu_csv,
    load_pubmedqa_json,
)
from domainforge.evaluation.mcq_records import read_mcq_jsonl
from domainforge.evaluation.settings import BenchmarkSpec
from domainforge.typed_settings import from_params

ROLES: tuple[str, ...] = get_args(get_type_hints(BenchmarkSpec)["role"])  # ("domain", "general")


def _mcq_jsonl(path: Path) -> list[dict]:
    """Our own files, already in the common shape; ids as the adapters write them."""
    return [
        record if "id" in record else {**record, "id": f"{path.parent.name}/{path.name}#L{number}"}
        for number, record in enumerate(read_mcq_jsonl(path), start=1)
    ]


FORMATS: dict[str, Callable[..., list[dict]]] = {
    "mcq_jsonl": _mcq_jsonl,
    "mmlu_csv": load_mmlu_csv,
    "cmmlu_csv": load_cmmlu_csv,
    "medqa_jsonl": load_medqa_jsonl,
    "medmcqa_jsonl": load_medmcqa_jsonl,
    "pubmedqa_json": load_pubmedqa_json,
}


def _matching(files: dict[str, bytes], include: list[str], exclude: list[str]) -> list[str]:
    return sorted(
        name
        for name in files
        if any(fnmatch.fnmatchcase(name, p) for p in include)
        and not any(fnmatch.fnmatchcase(name, p) for p in exclude)
    )


def _write(files: dict[str, bytes], names: list[str], scratch: Path) -> list[Path]:
    paths = []
    for name in names:
        path = scratch / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
        paths.append(path)
    return paths


def _round_robin(per_file: list[list[dict]]) -> list[dict]:
    return [r for r in chain.from_iterable(zip_longest(*per_file)) if r is not None]


def _check(spec: BenchmarkSpec, seen: set[str]) -> None:
    name = spec.name
    if not name or name in seen:
        raise ValueError(f"benchmark needs a unique name, got {name!r}")
    if spec.format not in FORMATS:
        raise ValueError(f"benchmark {name}: format {spec.format!r} is not one of {sorted(FORMATS)}")
    if not spec.files:
        raise ValueError(f"benchmark {name}: no `files` patterns")
    if spec.shots and not spec.fewshot:
        raise ValueError(f"benchmark {name}: shots={spec.shots} needs `fewshot` (dev-split files)")
    if spec.limit is not None and spec.limit < 1:
        raise ValueError(f"benchmark {name}: limit must be >= 1 or null, got {spec.limit}")


def select_questions(
    files: dict[str, bytes],
    suite: list[Mapping | BenchmarkSpec],
    limits: dict | None = None,
    where: str = "benchmark_suites",
) -> dict[str, dict]:
    """{benchmark name: its settings, the files read, `available` (questions in those files) and
    `questions` (the ones to score: round-robin over files, cut to `limit`), `fewshot` records}.

    suite: benchmark specs (BenchmarkSpec or its mapping; `where` names them in errors, e.g.
    `benchmark_suites.medical_public`). limits: {name: limit} overriding the specs' (an
    environment's budget, e.g. conf/shared).
    """
    limits = limits or {}
    specs = [from_params(BenchmarkSpec, raw, f"{where}[{i}]") for i, raw in enumerate(suite)]
    unknown = set(limits) - {spec.name for spec in specs}
    if unknown:
        raise ValueError(f"limits name benchmarks that are not in the suite: {sorted(unknown)}")
    selected, seen = {}, set()
    with tempfile.TemporaryDirectory(prefix="domainforge_benchmarks_") as folder:
        scratch = Path(folder) / "benchmarks"  # a top-level file's id: benchmarks/<file>#L<line>
        for spec in specs:
            if spec.name in limits:
                spec = replace(spec, limit=limits[spec.name])
            _check(spec, seen)
            name = spec.name
            seen.add(name)
            names = _matching(files, spec.files, spec.exclude)
            if not names:
                raise FileNotFoundError(f"benchmark {name}: no file matches {list(spec.files)} (have {len(files)} files)")
            reader, kwargs = FORMATS[spec.format], {}
            if spec.ids_file:
                if spec.ids_file not in files:
                    raise FileNotFoundError(f"benchmark {name}: ids_file {spec.ids_file} not found")
                kwargs["ids_path"] = _write(files, [spec.ids_file], scratch)[0]
            questions = _round_robin([reader(p, **kwargs) for p in _write(files, names, scratch)])
            fewshot = []
            if spec.shots:
                shot_files = _write(files, _matching(files, spec.fewshot, []), scratch)
                fewshot = _round_robin([reader(p) for p in shot_files])[: spec.shots]
                if len(fewshot) < spec.shots:
                    raise ValueError(f"benchmark {name}: {spec.shots} shots but {len(fewshot)} few-shot records")
            limit = spec.limit
            selected[name] = {
                "role": spec.role,
                "format": spec.format,
                "language": spec.language,
                "shots": spec.shots,
                "limit": limit,
                "files": names,
                "available": len(questions),
                "questions": questions if limit is None else questions[:limit],
                "fewshot": fewshot,
            }
    return selected


# What a benchmark's entry in a model's results keeps of `evaluate_mcq`'s answer: the scores and
# the per-question vectors the paired comparison needs (not the log-likelihoods or scratch paths).
KEPT = (
    "n", "accuracy", "ci95", "acc_norm", "acc_norm_ci95", "ids", "answers", "predicted", "correct",
    "correct_norm", "language", "prompt", "shots", "lm_eval_version", "seconds",
)


def score_suite(model, selected: dict[str, dict], **evaluate_kwargs) -> dict[str, dict]:
    """`evaluate_mcq` on each benchmark of `select_questions`' answer with one loaded model
    (`load_hf_model`); evaluate_kwargs: batch_size, bootstrap_iters, seed, ..."""
    from domainforge.evaluation.mcq_eval import evaluate_mcq
    from domainforge.evaluation.mcq_records import write_mcq_jsonl

    results = {}
    with tempfile.TemporaryDirectory(prefix="domainforge_scoring_") as folder:
        for name, benchmark in selected.items():
            path = write_mcq_jsonl(benchmark["questions"], Path(folder) / f"{name}.jsonl")
            fewshot = None
            if benchmark["shots"]:
                fewshot = write_mcq_jsonl(benchmark["fewshot"], Path(folder) / f"{name}_fewshot.jsonl")
            result = evaluate_mcq(
                model,
                path,
                shots=benchmark["shots"],
                fewshot_path=fewshot,
                language=benchmark["language"],
                **evaluate_kwargs,
            )
            results[name] = {key: result[key] for key in KEPT}
    return results
