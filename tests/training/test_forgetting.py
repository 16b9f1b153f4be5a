"""The forgetting check can fail: a tiny model taught general facts, then trained hard on domain
text only, loses them, and the training summary's check (paired CI of the general-benchmark
accuracy difference against the base model) reports the failure; the base model against itself
passes. Scoring runs through the eval pipeline's node (lm-eval underneath)."""

import json

import pandas as pd
import pytest
from tiny_llama import save_tiny_llama
from tiny_training import COMMON, DOMAIN, REPO, train_chat_tokenizer

BENCHMARKS = REPO / "data/01_raw/medical/benchmarks"
HELDOUT = REPO / "data/01_raw/medical/heldout_general/general_heldout.txt"


def _frame(texts: list[str], corpus: str) -> pd.DataFrame:
    return pd.DataFrame([{"id": f"{corpus}{i}", "source": "t", "corpus": corpus, "text": t} for i, t in enumerate(texts)])


@pytest.mark.slow
def test_domain_only_training_fails_the_forgetting_check(tmp_path, runtime):
    import yaml

    from domainforge.evaluation.report import benchmark_report
    from domainforge.evaluation.settings import evaluation_settings
    from domainforge.evaluation.suite import select_questions
    from domainforge.pipelines.eval.nodes import benchmark_evaluation
    from domainforge.training import stages
    from domainforge.training.report import forgetting_check

    conf = yaml.safe_load((REPO / "conf/base/parameters_eval.yml").read_text(encoding="utf-8"))
    evaluation = {**conf["evaluation"], "perplexity": {"max_length": 64, "max_tokens": 2000, "batch_tokens": 256}}
    general = [json.loads(line) for line in (BENCHMARKS / "general_en.jsonl").read_text("utf-8").splitlines()]
    facts = [f"{q['question']}\nAnswer: {q['options'][q['answer']]}" for q in general]
    domain = DOMAIN + (REPO / "data/01_raw/medical/pretrain_domain/textbook_zh.txt").read_text("utf-8").splitlines()[:12]
    tokenizer = train_chat_tokenizer(facts + domain, 600)
    random_model = save_tiny_llama(tmp_path / "random", tokenizer, hidden_size=128)

    pt = {**COMMON, "seq_len": 64, "batch_tokens": 256, "save_steps": 1000, "learning_rate": 5.0e-3}
    # Base: the general facts learnt (several shuffled copies so packing does not cut one pair
    # the same way every time); then "hard on domain text only": many steps, no general text.
    base = stages.continued_pretraining(
        random_model, _frame(facts * 8, "general"), params={**pt, "max_steps": 200}, runtime=runtime
    ).model
    forgotten = stages.continued_pretraining(
        base, _frame(domain * 8, "domain"), params={**pt, "max_steps": 100}, runtime=runtime
    ).model

    spec = {"name": "general_en", "files": ["general_en.jsonl"], "format": "mcq_jsonl", "role": "general"}
    files = {"general_en.jsonl": (BENCHMARKS / "general_en.jsonl").read_bytes()}
    questions = select_questions(files, [spec])
    heldout = {HELDOUT.name: HELDOUT.read_bytes()}
    results = {
        stage: benchmark_evaluation(stage)(model, questions, heldout, evaluation)
        for stage, model in (("base", base), ("pt", forgotten))
    }
    base_accuracy = results["base"]["benchmarks"]["general_en"]["accuracy"]
    assert base_accuracy >= 0.9, f"the base model did not learn the general facts ({base_accuracy})"

    checks = {"max_general_accuracy_drop_points": 2.0, "max_general_ppl_increase_pct": 5.0}
    settings = evaluation_settings(evaluation)
    report = benchmark_report(results, iters=settings.bootstrap_iters, seed=settings.seed)
    check = forgetting_check(report, checks)
    row = check["general_benchmarks"]["by_stage"]["pt"]["general_en"]
    assert row["accuracy"] < base_accuracy - 0.3 and row["ci95"][1] < -0.02
    assert row["pass"] is False and check["general_benchmarks"]["pass"] is False and check["pass"] is False

    same = benchmark_report({"base": results["base"], "pt": results["base"]}, iters=1000, seed=0)
    control = forgetting_check(same, checks)
    assert control["general_benchmarks"]["pass"] is True
    assert control["heldout_general_perplexity"]["change_pct"] == {"pt": 0.0} and control["pass"] is True
