"""The progress bars of the long steps outside curation (BM25 build, query adapter, held-out
evaluation: perplexity, chat loss, samples, DPO log-probs, reward-model pairs) follow
`domainforge.progress`: drawn on a terminal, silent in a log or with CI set."""
import io
import sys

import numpy as np
import pytest
from tiny_llama import save_tiny_llama
from tiny_training import chats, documents, make_tokenizer, preferences

from domainforge import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def stderr(monkeypatch):
    """set(mode) -> the new stderr; mode: "terminal", "ci" (a terminal, CI set) or "log"."""

    def set_mode(mode: str) -> io.StringIO:
        stream = io.StringIO() if mode == "log" else Terminal()
        monkeypatch.setattr(sys, "stderr", stream)
        if mode == "ci":
            monkeypatch.setenv("CI", "true")
        else:
            monkeypatch.delenv("CI", raising=False)
        return stream

    return set_mode


MODES = [("terminal", True), ("ci", False), ("log", False)]


@pytest.mark.parametrize("mode, drawn", MODES)
def test_counter_draws_only_where_bars_are_on(stderr, mode, drawn):
    out = stderr(mode)
    assert progress.enabled() is drawn
    with progress.counter(10, desc="embed chunks", unit="chunk") as bar:
        bar.update(10)
    assert ("embed chunks" in out.getvalue()) is drawn


@pytest.mark.parametrize("mode, drawn", MODES)
def test_bm25_build_and_query_adapter_bars(stderr, mode, drawn):
    from domainforge.retrieval.lexical import LexicalIndex
    from domainforge.retrieval.tuning.query_adapter import AdapterSettings, fit_query_adapter

    out = stderr(mode)
    LexicalIndex.build(["高血压患者应低盐饮食", "fever in children", "wash your hands"])
    rng = np.random.default_rng(0)
    chunks = rng.normal(size=(6, 8)).astype(np.float32)
    chunks /= np.linalg.norm(chunks, axis=1, keepdims=True)
    questions = chunks + 0.1 * rng.normal(size=chunks.shape).astype(np.float32)
    fit_query_adapter(questions, [np.array([i]) for i in range(6)], chunks, np.array([f"s{i}" for i in range(6)]),
                      AdapterSettings(min_pairs=2, max_epochs=2, validation_fraction=0.34))
    assert ("BM25 tokenise" in out.getvalue()) is drawn
    assert ("fit query adapter" in out.getvalue()) is drawn


@pytest.mark.parametrize("mode, drawn", MODES)
def test_held_out_evaluation_bars(stderr, tmp_path_factory, mode, drawn):
    from transformers import AutoModelForSequenceClassification

    from domainforge.training import evaluate
    from domainforge.training.reward import score_pairs

    model_dir = save_tiny_llama(tmp_path_factory.mktemp("tiny") / "model", make_tokenizer())
    out = stderr(mode)
    evaluate.evaluate_language_model(model_dir, documents(4), chats(4), {"prompts": ["发热怎么办？"], "max_new_tokens": 2})
    evaluate.evaluate_dpo(model_dir, model_dir, preferences(2), {"max_length": 128}, beta=0.1)
    reward_model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=1)
    score_pairs(reward_model, make_tokenizer(), preferences(2), max_length=128)
    for bar in ("perplexity", "held-out chat loss", "generate samples", "preference log-probs", "reward model pairs"):
        assert (bar in out.getvalue()) is drawn, bar
