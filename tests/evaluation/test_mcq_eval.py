"""evaluate_mcq's wiring of lm-evaluation-harness, on a tiny random Llama (not the harness itself):
the prompts and choices it renders, that its pick is the argmax of the option log-likelihoods
computed here directly in torch, and the per-question vectors it returns."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from mcq_samples import EN, ZH

from domainforge.evaluation import compare_results, detect_language, evaluate_mcq, load_hf_model, write_mcq_jsonl


@pytest.fixture(scope="module")
def hf(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="module")
def results(tiny_model_dir, mcq_files):
    # zh from the model directory (evaluate_mcq loads it); en through a loaded HFLM (the reuse path)
    zh = evaluate_mcq(tiny_model_dir, mcq_files["zh"], return_samples=True, bootstrap_iters=2000)
    lm = load_hf_model(tiny_model_dir, batch_size=4)
    en = evaluate_mcq(lm, mcq_files["en"], return_samples=True, bootstrap_iters=2000)
    return {"zh": zh, "en": en, "lm": lm}


def direct_loglikelihood(hf, context: str, continuation: str) -> float:
    """Sum of log-softmax over the continuation's tokens, context tokens then continuation tokens."""
    import torch

    model, tokenizer = hf
    ctx = tokenizer(context)["input_ids"]
    cont = tokenizer(continuation)["input_ids"]
    # the harness splits the encoding of context + continuation; on these texts that is the same
    assert tokenizer(context + continuation)["input_ids"] == ctx + cont
    with torch.no_grad():
        logits = model(torch.tensor([ctx + cont])).logits[0]
    logprobs = torch.log_softmax(logits.double(), dim=-1)
    return float(sum(logprobs[len(ctx) + j - 1, token] for j, token in enumerate(cont)))


@pytest.mark.parametrize(
    "language, records, suffix, delimiter", [("zh", ZH, "\n答案：", ""), ("en", EN, "\nAnswer:", " ")]
)
def test_rendered_requests_are_the_cloze_prompt(results, language, records, suffix, delimiter):
    result = results[language]
    assert result["language"] == language
    for sample, record in zip(result["samples"], records, strict=True):
        texts = list(record["options"].values())
        assert [tuple(arg) for arg in sample["arguments"]] == [
            (record["question"] + suffix, delimiter + text) for text in texts
        ]
        assert sample["doc"]["choices"] == texts
        assert sample["target"] == list(record["options"]).index(record["answer"])


@pytest.mark.parametrize("language, records", [("zh", ZH), ("en", EN)])
def test_harness_pick_is_argmax_of_summed_option_logprobs(results, hf, language, records):
    result = results[language]
    suffix, delimiter = {"zh": ("\n答案：", ""), "en": ("\nAnswer:", " ")}[language]
    for i, record in enumerate(records):
        texts = list(record["options"].values())
        direct = [direct_loglikelihood(hf, record["question"] + suffix, delimiter + t) for t in texts]
        np.testing.assert_allclose(result["loglikelihoods"][i], direct, rtol=1e-4, atol=1e-3)
        letters = list(record["options"])
        assert result["predicted"][i] == letters[int(np.argmax(direct))]
        assert result["correct"][i] == int(letters[int(np.argmax(direct))] == record["answer"])
        per_char = np.array(direct) / np.array([len(t) for t in texts])
        assert result["correct_norm"][i] == int(letters[int(np.argmax(per_char))] == record["answer"])


def test_result_fields(results, mcq_files):
    zh = results["zh"]
    assert zh["n"] == len(ZH) and zh["answers"] == [r["answer"] for r in ZH]
    assert zh["accuracy"] == pytest.approx(np.mean(zh["correct"]))
    assert zh["acc_norm"] == pytest.approx(np.mean(zh["correct_norm"]))
    assert zh["ci95"][0] <= zh["accuracy"] <= zh["ci95"][1]
    assert zh["ids"] == [f"zh.jsonl#{i}" for i in range(1, len(ZH) + 1)]
    assert [len(lls) for lls in zh["loglikelihoods"]] == [len(r["options"]) for r in ZH]
    assert zh["lm_eval_version"] == "0.4.13"
    same = compare_results(zh, zh)
    assert same["difference"] == 0 and same["ci95"] == [0.0, 0.0]


def test_few_shot_examples_come_first_from_the_dev_file(results, tmp_path):
    dev = write_mcq_jsonl(ZH[2:], tmp_path / "dev.jsonl")
    test = write_mcq_jsonl(ZH[:2], tmp_path / "test.jsonl")
    result = evaluate_mcq(results["lm"], test, shots=2, fewshot_path=dev, return_samples=True, bootstrap_iters=100)
    shots = "".join(f"{r['question']}\n答案：{r['options'][r['answer']]}\n\n" for r in ZH[2:])
    for sample, record in zip(result["samples"], ZH[:2], strict=True):
        assert sample["arguments"][0][0] == shots + record["question"] + "\n答案："
    assert result["shots"] == 2 and result["n"] == 2


def test_limit_and_language_override(results, mcq_files):
    result = evaluate_mcq(results["lm"], mcq_files["zh"], limit=1, language="en", return_samples=True, bootstrap_iters=100)
    assert result["n"] == 1
    assert tuple(result["samples"][0]["arguments"][0]) == (ZH[0]["question"] + "\nAnswer:", " 卵巢")


def test_bad_arguments_fail_before_the_harness(tmp_path, mcq_files):
    with pytest.raises(ValueError, match="fewshot_path"):
        evaluate_mcq(tmp_path, mcq_files["zh"], shots=1)
    with pytest.raises(FileNotFoundError, match="config.json"):
        evaluate_mcq(tmp_path, mcq_files["zh"])
    with pytest.raises(ValueError, match="language"):
        evaluate_mcq(tmp_path, mcq_files["zh"], language="fr")


@pytest.mark.parametrize("terminal, ci, drawn", [(True, False, True), (True, True, False), (False, False, False)])
def test_harness_request_bar_follows_the_progress_rule(tiny_model_dir, mcq_files, monkeypatch, terminal, ci, drawn):
    """lm-eval's "Running loglikelihood requests" bar: on a terminal, not in a log or with CI set."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    if ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    assert evaluate_mcq(tiny_model_dir, mcq_files["en"], limit=2, bootstrap_iters=10)["n"] == 2
    assert ("Running loglikelihood requests" in err.getvalue()) is drawn


def test_detect_language():
    assert detect_language(ZH) == "zh"
    assert detect_language(EN) == "en"
    mixed = [{"question": "患者CT示HbA1c升高，诊断为", "options": {"A": "糖尿病", "B": "DKA"}, "answer": "A"}]
    assert detect_language(mixed) == "zh"
