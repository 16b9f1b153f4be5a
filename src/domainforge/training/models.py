"""Loading a model for a stage, LoRA or full fine-tuning, and exporting a full model directory."""

from __future__ import annotations

from pathlib import Path

import torch

from domainforge.training.artifacts import ModelDir
from domainforge.training.base_model import ensure_pad_token
from domainforge.training.runtime import Runtime
from domainforge.training.stage_settings import StageSettings

CAUSAL, REWARD = "causal", "reward"


def load_model(model_dir: ModelDir, kind: str, runtime: Runtime, tokenizer=None):
    """fp32 master weights (DeepSpeed casts for bf16/fp16); reward models get a 1-logit head and a
    pad token distinct from EOS."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    kwargs = dict(dtype=torch.float32, attn_implementation=runtime.attn_implementation)
    if kind == CAUSAL:
        model = AutoModelForCausalLM.from_pretrained(model_dir, **kwargs)
    elif kind == REWARD:
        model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=1, **kwargs)
        ensure_pad_token(tokenizer, model)
    else:
        raise ValueError(f"unknown model kind {kind!r}")
    return model


def lora_config(params: StageSettings, kind: str):
    """A peft LoraConfig from the stage's `lora` settings, or None for full fine-tuning."""
    if params.finetuning == "full":
        return None
    from peft import LoraConfig

    lora = params.lora
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules if isinstance(lora.target_modules, str) else list(lora.target_modules),
        task_type="CAUSAL_LM" if kind == CAUSAL else "SEQ_CLS",
    )


def exporter(source: ModelDir, kind: str, runtime: Runtime, tokenizer, lora: bool):
    """An `export(trainer, directory)` that writes a full model directory.

    LoRA: the adapter is saved under `adapter/` and merged into a fresh copy of the source model,
    so downstream stages and users get a plain model and can still reuse the adapter.
    """

    def export(trainer, directory: Path) -> None:
        directory = Path(directory)
        if not lora:
            trainer.save_model(str(directory))
        else:
            trainer.save_model(str(directory / "adapter"))
            if trainer.is_world_process_zero():
                from peft import PeftModel
                from transformers.integrations.deepspeed import unset_hf_deepspeed_config

                # Training is over: load the merge base whole, not as ZeRO-3 partitions.
                unset_hf_deepspeed_config()
                base = load_model(source, kind, runtime, tokenizer)
                merged = PeftModel.from_pretrained(base, directory / "adapter").merge_and_unload()
                merged.save_pretrained(directory)
        if trainer.is_world_process_zero():
            tokenizer.save_pretrained(directory)

    return export
