"""The four training stages. Each takes (input model directory, record table, params, runtime)
and returns a StageResult whose model is a full Hugging Face directory.

Stage params: a mapping or the stage's settings class (stage_settings.py: every key, its default
and meaning); the engine checks them, so a stage function always gets its typed settings.
"""

from __future__ import annotations

import math
import random

import pandas as pd
from transformers import Trainer, TrainingArguments, set_seed

from domainforge.training.artifacts import ModelDir
from domainforge.training.base_model import ensure_pad_token
from domainforge.training.engine import RunDir, StageResult, stage, train
from domainforge.training.models import CAUSAL, REWARD, exporter, load_model, lora_config
from domainforge.training.packing import (
    ListDataset,
    PackedCollator,
    as_messages,
    chat_sequences,
    document_blocks,
    pack,
)
from domainforge.training.reward import pair_ids
from domainforge.training.runtime import Runtime, trainer_kwargs
from domainforge.training.stage_settings import (
    DpoSettings,
    PretrainSettings,
    RewardSettings,
    SftSettings,
    StageSettings,
)


def _with_lora(model, params: StageSettings, kind: str):
    config = lora_config(params, kind)
    if config is None:
        return model
    from peft import get_peft_model

    return get_peft_model(model, config)


def _fit(
    run: RunDir,
    model: ModelDir,
    kind: str,
    tokenizer,
    items: list,
    collator,
    batching: tuple[int, int],
    stats: dict,
    *,
    params: StageSettings,
    runtime: Runtime,
    callbacks,
) -> StageResult:
    """Train `model` (as `kind`, LoRA or full per params) on `items` with a transformers Trainer
    cut into (per-device batch, accumulation) micro-batches; export and record the run."""
    per_device, accumulation = batching
    trainer = Trainer(
        model=_with_lora(load_model(model, kind, runtime, tokenizer), params, kind),
        args=TrainingArguments(
            **trainer_kwargs(
                params, runtime, str(run.checkpoints), per_device, accumulation,
                padding_free=isinstance(collator, PackedCollator),
            )
        ),
        train_dataset=ListDataset(items),
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=list(callbacks),
    )
    stats = {**stats, "per_device_batch": per_device, "gradient_accumulation_steps": accumulation}
    return train(
        run, trainer, exporter(model, kind, runtime, tokenizer, lora_config(params, kind) is not None), stats
    )


@stage("pt")
def continued_pretraining(
    run: RunDir, model: ModelDir, documents: pd.DataFrame, *, params: PretrainSettings, runtime: Runtime, callbacks=()
) -> StageResult:
    """Causal-LM loss on documents packed into fixed blocks with EOS between documents."""
    tokenizer = model.load_tokenizer()
    texts = list(documents["text"])
    # Shuffle before packing so blocks mix domain and general text instead of following file order.
    random.Random(params.seed).shuffle(texts)
    seq_len = params.seq_len
    blocks = document_blocks(texts, tokenizer, seq_len, params.separate_documents)
    if not blocks:
        raise ValueError("pretraining corpus is empty after tokenization")
    batching = runtime.micro_batches(seq_len, math.ceil(params.batch_tokens / seq_len))
    stats = {
        "documents": len(texts),
        "blocks": len(blocks),
        "corpus_tokens": sum(len(b["input_ids"]) for b in blocks),
    }
    return _fit(
        run, model, CAUSAL, tokenizer, blocks, PackedCollator(), batching, stats,
        params=params, runtime=runtime, callbacks=callbacks,
    )


@stage("sft")
def supervised_finetuning(
    run: RunDir, model: ModelDir, chats: pd.DataFrame, *, params: SftSettings, runtime: Runtime, callbacks=()
) -> StageResult:
    """Loss on assistant tokens only; chats packed padding-free, each kept separate."""
    tokenizer = model.load_tokenizer()
    max_length = params.max_length
    sequences, stats = chat_sequences(chats, tokenizer, max_length)
    if not sequences:
        raise ValueError("no trainable chats (see skipped reasons): " + repr(stats["skipped"][:3]))
    batch_tokens = params.batch_tokens
    # One packed row is one micro-batch: as large as the machine allows, no larger than a step.
    capacity = max(max_length, min(runtime.micro_batch_tokens, math.ceil(batch_tokens / runtime.world_size)))
    rows = pack(sequences, capacity)
    batching = runtime.micro_batches(capacity, math.ceil(batch_tokens / capacity))
    stats.update(
        packed_rows=len(rows),
        packing_capacity=capacity,
        packing_fill=round(stats["chat_tokens"] / (len(rows) * capacity), 4),
    )
    return _fit(
        run, model, CAUSAL, tokenizer, rows, PackedCollator(), batching, stats,
        params=params, runtime=runtime, callbacks=callbacks,
    )


def reward_trainer(
    model: ModelDir,
    preferences: pd.DataFrame,
    *,
    params: RewardSettings,
    runtime: Runtime,
    output_dir: str,
    callbacks=(),
):
    """(trl RewardTrainer, data stats) for the rm stage: the pairs tokenized here (pair_ids: long
    chats keep their end, none is dropped), the tokenizer's pad token made distinct from EOS."""
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    tokenizer = model.load_tokenizer()
    ensure_pad_token(tokenizer)
    max_length = params.max_length
    records = pair_ids(preferences, tokenizer, max_length)
    if not records:
        raise ValueError("no preference pairs to train the reward model on")
    per_device, accumulation = runtime.micro_batches(2 * max_length, params.batch_size)
    # Loaded before the config exists, as the other stages' models are: under ZeRO-3 it is
    # partitioned when DeepSpeed starts, not while ensure_pad_token may resize its embeddings.
    # The new score head is drawn at random: seeded, so that a rerun learns the same model.
    set_seed(params.seed)
    reward_model = load_model(model, REWARD, runtime, tokenizer)
    peft_config = lora_config(params, REWARD)
    config = RewardConfig(
        **trainer_kwargs(params, runtime, output_dir, per_device, accumulation),
        max_length=max_length,  # nothing is longer (pair_ids), so TRL's filter drops no pair
        # Dropout as configured (lora.dropout; SmolLM2 has no other), not zeroed behind the settings' back.
        disable_dropout=False,
    )
    trainer = RewardTrainer(
        model=reward_model,
        args=config,
        train_dataset=Dataset.from_list(records),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=list(callbacks),
    )
    stats = {
        "pairs": len(records),
        "pad_token": tokenizer.pad_token,
        "per_device_batch": per_device,
        "gradient_accumulation_steps": accumulation,
    }
    return trainer, stats


@stage("rm")
def reward_modelling(
    run: RunDir, model: ModelDir, preferences: pd.DataFrame, *, params: RewardSettings, runtime: Runtime, callbacks=()
) -> StageResult:
    """trl RewardTrainer: a 1-logit sequence-classification head on the SFT model, pairwise loss
    -log sigma(r_c - r_r) read at each chat's last real token."""
    trainer, stats = reward_trainer(
        model, preferences, params=params, runtime=runtime, output_dir=str(run.checkpoints), callbacks=callbacks
    )
    lora = lora_config(params, REWARD) is not None
    return train(run, trainer, exporter(model, REWARD, runtime, trainer.processing_class, lora), stats)


@stage("dpo")
def direct_preference_optimization(
    run: RunDir, model: ModelDir, preferences: pd.DataFrame, *, params: DpoSettings, runtime: Runtime, callbacks=()
) -> StageResult:
    """trl DPOTrainer from the SFT model. The reference is never a deep copy of the policy (the
    pattern that breaks under ZeRO-3): reference log-probs are precomputed before training, or,
    with LoRA, taken from the same model with the adapters disabled."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    tokenizer = model.load_tokenizer()
    records = [
        {
            "prompt": as_messages(row.prompt, f"preference {row.id} prompt"),
            "chosen": as_messages(row.chosen, f"preference {row.id} chosen"),
            "rejected": as_messages(row.rejected, f"preference {row.id} rejected"),
        }
        for row in preferences.itertuples(index=False)
    ]
    if not records:
        raise ValueError("no preference pairs for DPO")
    max_length = params.max_length
    per_device, accumulation = runtime.micro_batches(2 * max_length, params.batch_size)
    # Only the pairs the steps will consume (seeded sample): precomputing reference log-probs
    # for pairs never trained on would cost a forward pass each.
    # With num_train_epochs every pair is consumed.
    steps = params.max_steps if params.num_train_epochs is None else None
    consumed = steps * per_device * accumulation * runtime.world_size if steps else len(records)
    if consumed < len(records):
        records = random.Random(params.seed).sample(records, consumed)
    peft_config = lora_config(params, CAUSAL)
    config = DPOConfig(
        **trainer_kwargs(params, runtime, str(run.checkpoints), per_device, accumulation),
        beta=params.beta,
        loss_type=list(params.loss_type),
        max_length=max_length,
        precompute_ref_log_probs=(
            peft_config is None if params.precompute_ref_log_probs is None else params.precompute_ref_log_probs
        ),
    )
    trainer = DPOTrainer(
        model=load_model(model, CAUSAL, runtime),
        ref_model=None,
        args=config,
        train_dataset=Dataset.from_list(records),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=list(callbacks),
    )
    stats = {
        "pairs": len(preferences),
        "pairs_used": len(records),
        "beta": config.beta,
        "reference": "precomputed log-probs" if config.precompute_ref_log_probs else "adapters disabled",
        "per_device_batch": per_device,
        "gradient_accumulation_steps": accumulation,
    }
    return train(run, trainer, exporter(model, CAUSAL, runtime, tokenizer, peft_config is not None), stats)
