"""`evaluate_mcq`: score a multiple-choice JSONL file with lm-evaluation-harness.

The harness does the scoring (`lm_eval.simple_evaluate`, model `hf`, the task YAML written by
`harness_task`, loaded by a `TaskManager` that indexes only that folder); this module checks the
input, picks the prompt language, reads the logged samples back into per-question vectors and
adds bootstrap confidence intervals (`stats`). Everything is local: the model is a directory,
the data a JSON file read by `datasets`' packaged `json` builder.
"""

from __future__ import annotations

import functools
import tempfile
import time
from pathlib import Path

import numpy as np

from domainforge import progress
from domainforge.evaluation.harness_task import TASK_NAME, write_task
from domainforge.evaluation.mcq_records import read_mcq_jsonl
from domainforge.evaluation.prompt_language import PROMPTS, detect_language
from domainforge.evaluation.stats import DEFAULT_ITERS, bootstrap_ci


def load_hf_model(model_dir: str | Path, *, device: str = "cpu", dtype: str = "float32", batch_size: int = 8):
    """An lm-eval `HFLM` for a local model directory, to reuse across several `evaluate_mcq` calls."""
    return _progress_hflm()(pretrained=str(_model_dir(model_dir)), device=device, dtype=dtype, batch_size=batch_size)


@functools.cache
def _progress_hflm() -> type:
    """lm-eval's HFLM with its request bars ("Running loglikelihood requests") on or off by
    `domainforge.progress`: the harness calls the request methods without `disable_tqdm`, so they
    would print into logs. (Its short "building contexts" bar per task takes no such switch.)"""
    from lm_eval.models.huggingface import HFLM

    class ProgressHFLM(HFLM):
        def loglikelihood(self, requests, disable_tqdm: bool = False):
            return super().loglikelihood(requests, disable_tqdm=disable_tqdm or not progress.enabled())

        def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
            return super().loglikelihood_rolling(requests, disable_tqdm=disable_tqdm or not progress.enabled())

        def generate_until(self, requests, disable_tqdm: bool = False):
            return super().generate_until(requests, disable_tqdm=disable_tqdm or not progress.enabled())

    return ProgressHFLM


def _model_dir(model_dir: str | Path) -> Path:
    path = Path(model_dir)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} is not a local Hugging Face model directory (no config.json)")
    return path.resolve()


def _with_ids(records: list[dict], path: Path) -> list[dict]:
    return [
        record if "id" in record else {**record, "id": f"{path.name}#{number}"}
        for number, record in enumerate(records, start=1)
    ]


def evaluate_mcq(
    model_dir,
    path: str | Path,
    *,
    limit: int | None = None,
    shots: int = 0,
    language: str | None = None,
    fewshot_path: str | Path | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    batch_size: int = 8,
    bootstrap_iters: int = DEFAULT_ITERS,
    seed: int = 0,
    work_dir: str | Path | None = None,
    return_samples: bool = False,
) -> dict:
    """Accuracy of a causal LM on a JSONL file of `{question, options, answer}` records.

    model_dir: a local Hugging Face model directory, or an lm-eval `LM` (`load_hf_model`) to
        reuse one loaded model for several files.
    limit: score only the first `limit` questions.
    shots: few-shot examples before each question: the first `shots` records of `fewshot_path`
        (a file of the same shape, e.g. a benchmark's dev split).
    language: `zh` (context `"{question}\\n答案："`, options appended as they are) or `en`
        (`"{question}\\nAnswer:"`, options after a space); None detects it from the file.
    work_dir: where the task YAML and harness documents are written (default a temporary folder,
        removed afterwards).
    return_samples: also return lm-eval's logged samples (rendered requests and log-likelihoods).

    Returns n, accuracy (`acc`: argmax of summed option log-likelihood), ci95 (bootstrap),
    acc_norm (argmax per option character) and acc_norm_ci95, and per question in file order:
    ids, answers, predicted (letters), correct and correct_norm (0/1), loglikelihoods; plus the
    language, prompt template, shots, lm-eval version and seconds taken.
    """
    import lm_eval
    from lm_eval.api.model import LM
    from lm_eval.tasks import TaskManager

    started = time.perf_counter()
    path = Path(path)
    records = _with_ids(read_mcq_jsonl(path), path)
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        records = records[:limit]
    language = language or detect_language(records)
    if language not in PROMPTS:
        raise ValueError(f"language must be one of {sorted(PROMPTS)}, got {language!r}")
    if shots and fewshot_path is None:
        raise ValueError("shots > 0 needs fewshot_path (a file of examples, e.g. the dev split)")
    fewshot_records = None
    if shots:
        fewshot_records = _with_ids(read_mcq_jsonl(fewshot_path), Path(fewshot_path))

    if isinstance(model_dir, LM):
        model, model_name = model_dir, type(model_dir).__name__
    else:
        model_name = str(_model_dir(model_dir))
        model = load_hf_model(model_name, device=device, dtype=dtype, batch_size=batch_size)

    with tempfile.TemporaryDirectory(prefix="domainforge_mcq_") as scratch:
        task_dir = Path(work_dir) if work_dir is not None else Path(scratch)
        write_task(records, task_dir, language=language, shots=shots, fewshot_records=fewshot_records)
        output = lm_eval.simple_evaluate(
            model=model,
            tasks=[TASK_NAME],
            task_manager=TaskManager(include_path=str(task_dir.resolve()), include_defaults=False),
            device=device,
            batch_size=batch_size,
            log_samples=True,
            bootstrap_iters=0,  # our own bootstrap below; the harness's stderr is not needed
            # scoring is deterministic: leave the caller's global random states alone
            random_seed=None,
            numpy_random_seed=None,
            torch_random_seed=None,
            fewshot_random_seed=seed,
        )
    samples = sorted(output["samples"][TASK_NAME], key=lambda sample: sample["doc_id"])
    ids = [sample["doc"]["id"] for sample in samples]
    if ids != [record["id"] for record in records]:
        raise RuntimeError("lm-eval returned samples for other questions than those written")

    correct = np.array([sample["acc"] for sample in samples], dtype=float)
    correct_norm = np.array([sample["acc_norm"] for sample in samples], dtype=float)
    harness = output["results"][TASK_NAME]
    if not np.isclose(harness["acc,none"], correct.mean()):
        raise RuntimeError(f"per-sample acc {correct.mean()} != harness acc {harness['acc,none']}")
    loglikelihoods = [[float(resp[0]) for resp in sample["filtered_resps"]] for sample in samples]
    letters = [list(record["options"]) for record in records]
    result = {
        "n": len(samples),
        "accuracy": float(correct.mean()),
        "ci95": list(bootstrap_ci(correct, iters=bootstrap_iters, seed=seed)),
        "acc_norm": float(harness["acc_norm,none"]),
        "acc_norm_ci95": list(bootstrap_ci(correct_norm, iters=bootstrap_iters, seed=seed)),
        "ids": ids,
        "answers": [record["answer"] for record in records],
        "predicted": [opts[int(np.argmax(lls))] for opts, lls in zip(letters, loglikelihoods)],
        "correct": correct.astype(int).tolist(),
        "correct_norm": correct_norm.astype(int).tolist(),
        "loglikelihoods": loglikelihoods,
        "language": language,
        "prompt": PROMPTS[language][0],
        "target_delimiter": PROMPTS[language][1],
        "shots": shots,
        "path": str(path),
        "model": model_name,
        "lm_eval_version": lm_eval.__version__,
        "seconds": time.perf_counter() - started,
    }
    if return_samples:
        result["samples"] = samples
    return result
