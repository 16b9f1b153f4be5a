"""A tiny random Llama with a byte-level BPE tokenizer trained here on the questions of
`mcq_samples`, and those questions as JSONL files, for the lm-eval wiring tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcq_samples import EN, ZH
from tiny_llama import save_tiny_llama


def make_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    texts = [r["question"] + " " + " ".join(r["options"].values()) for r in ZH + EN]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        (texts + ["答案：", "Answer:"]) * 5,
        trainers.BpeTrainer(
            vocab_size=400, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        ),
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|endoftext|>", unk_token="<|endoftext|>", pad_token="<|endoftext|>"
    )


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return save_tiny_llama(tmp_path_factory.mktemp("tiny_eval") / "model", make_tokenizer(), seed=1)


@pytest.fixture(scope="session")
def mcq_files(tmp_path_factory) -> dict[str, Path]:
    from domainforge.evaluation import write_mcq_jsonl

    folder = tmp_path_factory.mktemp("mcq")
    return {"zh": write_mcq_jsonl(ZH, folder / "zh.jsonl"), "en": write_mcq_jsonl(EN, folder / "en.jsonl")}
