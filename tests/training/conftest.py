"""Fixtures for the training tests: a tiny Llama over the tiny BPE tokenizer (tiny_training.py,
with the record tables and parameters), and one end-to-end chain
base -> PT (killed once, then resumed) -> SFT (LoRA) -> RM -> DPO under DeepSpeed ZeRO-2 on CPU.

The chain runs once per session (DeepSpeed's first init JIT-builds an op); tests share it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_llama import save_tiny_llama
from tiny_training import PARAMS, chats, deepspeed_config, documents, make_tokenizer, preferences


@pytest.fixture(scope="session")
def tokenizer():
    return make_tokenizer()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tokenizer) -> Path:
    return save_tiny_llama(tmp_path_factory.mktemp("tiny") / "base", tokenizer)


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
