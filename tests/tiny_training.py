"""The training tests' tiny world: a byte-level BPE tokenizer trained in a second, small record
tables, the stage parameters (plain module: tests import it; conftest.py only holds fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
DOMAIN = ["传染病是由病原微生物感染人体后产生的有传染性的疾病。", "发热是最常见的症状，应注意补液和休息。"]
GENERAL = ["The history of the kingdom is long and full of wars.", "江湖之中，英雄辈出，刀光剑影。"]
ANSWER, BAD = "多喝水，注意休息，必要时就医。", "不知道。"


def train_chat_tokenizer(texts: list[str], vocab_size: int):
    """A byte-level BPE tokenizer trained on `texts` in a second, with the ChatML template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        texts * 10,
        trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", unk_token="<|endoftext|>", pad_token="<|im_end|>"
    )
    tokenizer.chat_template = CHATML
    return tokenizer


def make_tokenizer():
    return train_chat_tokenizer(DOMAIN + GENERAL + [ANSWER, BAD, "user assistant system 问题"], 320)


def documents(n: int = 24) -> pd.DataFrame:
    rows = []
    for i in range(n):
        corpus, texts = ("domain", DOMAIN) if i % 2 == 0 else ("general", GENERAL)
        rows.append({"id": f"doc{i}", "source": "t", "corpus": corpus, "text": texts[(i // 2) % 2] * 2})
    return pd.DataFrame(rows)


def chats(n: int = 16) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": f"chat{i}",
                "source": "t",
                "corpus": "domain",
                "messages": [
                    {"role": "user", "content": f"发热怎么办？{i}"},
                    {"role": "assistant", "content": ANSWER},
                ],
            }
            for i in range(n)
        ]
    )


def preferences(n: int = 12) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": f"pair{i}",
                "source": "t",
                "prompt": [{"role": "user", "content": f"问题 {i}"}],
                "chosen": [{"role": "assistant", "content": ANSWER}],
                "rejected": [{"role": "assistant", "content": BAD}],
            }
            for i in range(n)
        ]
    )


COMMON = {
    "learning_rate": 3.0e-3,
    "warmup_ratio": 0.0,
    "lr_scheduler": "linear",
    "logging_steps": 1,
    "seed": 0,
}
PARAMS = {
    "pt": {**COMMON, "max_steps": 6, "save_steps": 2, "seq_len": 64, "batch_tokens": 256},
    "sft": {
        **COMMON,
        "max_steps": 6,
        "save_steps": 100,
        "max_length": 64,
        "batch_tokens": 256,
        "finetuning": "lora",
        "lora": {"r": 8, "alpha": 16, "dropout": 0.0},
    },
    "rm": {**COMMON, "max_steps": 6, "save_steps": 100, "max_length": 64, "batch_size": 4},
    "dpo": {**COMMON, "max_steps": 6, "save_steps": 100, "max_length": 64, "batch_size": 4, "beta": 0.1},
    "eval": {
        "max_length": 64,
        "max_tokens": 4000,
        "batch_tokens": 256,
        "max_new_tokens": 4,
        "prompts": ["发热怎么办？"],
    },
    # The tiny model starts from random weights, so PT on the 1:1 mix must cut general perplexity
    # too (measured: 326 -> 160, -51%); -25 leaves room for platform noise and still fails when
    # the general half goes missing or PT stops learning.
    "checks": {
        "max_general_ppl_increase_pct": -25.0,
        "max_general_accuracy_drop_points": 2.0,
        "min_rm_accuracy": 0.5,
        "min_dpo_accuracy": 0.5,
    },
}


def deepspeed_config(name: str) -> dict:
    return json.loads((REPO / f"conf/base/deepspeed/{name}.json").read_text())
