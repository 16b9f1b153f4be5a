"""Fixtures for the training tests: a tiny Llama built from a config with a tiny byte-level BPE
tokenizer (trained here in a second), small record tables, and one end-to-end chain
base -> PT (killed once, then resumed) -> SFT (LoRA) -> RM -> DPO under DeepSpeed ZeRO-2 on CPU.

The chain runs once per session (DeepSpeed's first init JIT-builds an op); tests share it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tiny_llama import save_tiny_llama

REPO = Path(__file__).resolve().parents[2]
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
DOMAIN = ["传染病是由病原微生物感染人体后产生的有传染性的疾病。", "发热是最常见的症状，应注意补液和休息。"]
GENERAL = ["The history of the kingdom is long and full of wars.", "江湖之中，英雄辈出，刀光剑影。"]
ANSWER, BAD = "多喝水，注意休息，必要时就医。", "不知道。"


def make_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        (DOMAIN + GENERAL + [ANSWER, BAD, "user assistant system 问题"]) * 10,
        trainers.BpeTrainer(
            vocab_size=320,
            special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", unk_token="<|endoftext|>", pad_token="<|im_end|>"
    )
    tokenizer.chat_template = CHATML
    return tokenizer


@pytest.fixture(scope="session")
def tokenizer():
    return make_tokenizer()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tokenizer) -> Path:
    return save_tiny_llama(tmp_path_factory.mktemp("tiny") / "base", tokenizer)


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
    "checks": {"max_general_ppl_increase_pct": 1000.0, "min_rm_accuracy": 0.5, "min_dpo_accuracy": 0.5},
}


def deepspeed_config(name: str) -> dict:
    return json.loads((REPO / f"conf/base/deepspeed/{name}.json").read_text())


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="session")
def runtime(work_dir):
    from domainforge.training import Runtime

    return Runtime(deepspeed=deepspeed_config("zero2"), micro_batch_tokens=256, work_dir=str(work_dir))


class Crash(Exception):
    pass


@pytest.fixture(scope="session")
def chain(tiny_model, runtime):
    """Every stage once under ZeRO-2, DPO under ZeRO-3 (its reference log-probs precomputed,
    never a deep copy of the policy). PT is killed after its step-2 checkpoint, then rerun."""
    from dataclasses import replace

    from transformers import TrainerCallback

    from domainforge.training import stages

    class KillAtStep3(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step == 3:
                raise Crash("simulated kill")

    with pytest.raises(Crash):
        stages.continued_pretraining(
            tiny_model, documents(), params=PARAMS["pt"], runtime=runtime, callbacks=[KillAtStep3()]
        )
    pt = stages.continued_pretraining(tiny_model, documents(), params=PARAMS["pt"], runtime=runtime)
    sft = stages.supervised_finetuning(pt.model, chats(), params=PARAMS["sft"], runtime=runtime)
    rm = stages.reward_modelling(sft.model, preferences(), params=PARAMS["rm"], runtime=runtime)
    zero3 = replace(runtime, deepspeed=deepspeed_config("zero3"))
    dpo = stages.direct_preference_optimization(sft.model, preferences(), params=PARAMS["dpo"], runtime=zero3)
    return {"pt": pt, "sft": sft, "rm": rm, "dpo": dpo}
