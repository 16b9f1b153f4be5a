"""The `training` parameters (conf/base/parameters_training.yml): each stage (`training.<stage>`),
the held-out evaluation after every stage (`training.eval`) and the summary's checks
(`training.checks`).

These dataclasses are the one place their keys, defaults and meaning are written; the YAML sets
the recipe's sizes (required here: they depend on the data and the machine's time budget) and what
differs from the defaults. `stage_settings` builds them with `typed_settings.from_params`, so a
misspelt key is an error naming it and the nearest known key
(`training.sft: unknown setting 'max_step'; did you mean 'max_steps'?`), never a silent retrain
with the default.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from domainforge.typed_settings import SettingsError, from_params


@dataclass(frozen=True, kw_only=True)
class LoraSettings:
    """`lora:` of a stage with `finetuning: lora` (peft's LoraConfig; merged into the exported model)."""

    r: int = 16  # adapter rank
    alpha: int = 32  # lora_alpha: the update is scaled by alpha / r
    dropout: float = 0.0
    target_modules: str | tuple[str, ...] = "all-linear"  # "all-linear" or module names (q_proj, ...)


@dataclass(frozen=True, kw_only=True)
class StageSettings:
    """What every stage knows."""

    learning_rate: float  # peak learning rate
    max_steps: int | None = None  # optimizer steps (one of max_steps / num_train_epochs is required)
    num_train_epochs: float | None = None  # when set, wins over max_steps
    lr_scheduler: str = "cosine"  # transformers' lr_scheduler_type: cosine | linear | constant | ...
    warmup_ratio: float = 0.0  # share of the steps spent warming up
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0  # gradient clipping
    seed: int = 42  # data order (shuffle, DPO's pair sample) and the Trainer's seed
    save_steps: int = 50  # checkpoint cadence: a killed stage resumes from its last checkpoint
    logging_steps: int = 1  # loss history cadence (the report's loss curve)
    finetuning: Literal["full", "lora"] = "full"
    lora: LoraSettings = field(default_factory=LoraSettings)  # used with finetuning: lora


@dataclass(frozen=True, kw_only=True)
class PretrainSettings(StageSettings):
    """`training.pt`: continued pretraining on documents packed into blocks."""

    seq_len: int  # tokens per block
    batch_tokens: int  # tokens per optimizer step, whole world
    separate_documents: bool = False  # true: position ids restart after each EOS (block-diagonal attention)


@dataclass(frozen=True, kw_only=True)
class SftSettings(StageSettings):
    """`training.sft`: loss on assistant turns, chats packed padding-free."""

    max_length: int  # tokens per chat; longer chats are truncated (counted in the report)
    batch_tokens: int  # tokens per optimizer step, whole world


@dataclass(frozen=True, kw_only=True)
class RewardSettings(StageSettings):
    """`training.rm`: the reward model's pairwise loss."""

    max_length: int  # tokens per chat (prompt + answer)
    batch_size: int  # preference pairs per optimizer step


@dataclass(frozen=True, kw_only=True)
class DpoSettings(StageSettings):
    """`training.dpo`: TRL's DPOTrainer from the SFT model."""

    max_length: int
    batch_size: int  # preference pairs per optimizer step
    beta: float = 0.1  # strength of the pull towards the reference model
    loss_type: tuple[str, ...] = ("sigmoid",)  # TRL's DPO loss types
    # null: reference log-probs precomputed for full fine-tuning; with LoRA the adapters are disabled.
    precompute_ref_log_probs: bool | None = None


SETTINGS: dict[str, type[StageSettings]] = {
    "pt": PretrainSettings,
    "sft": SftSettings,
    "rm": RewardSettings,
    "dpo": DpoSettings,
}


@dataclass(frozen=True)
class EvalSettings:
    """`training.eval`: the held-out report after every stage (training/evaluate.py)."""

    max_length: int = 512  # tokens per scored window / chat
    # DPO's held-out implicit reward: tokens per prompt + completion; a pair whose prompt leaves
    # no room within it is skipped (listed). None: max_length. Preference prompts run long (the
    # shared env's held-out pairs: 183 of 220 scorable at 512), so they need a longer window than
    # perplexity.
    preference_max_length: int | None = None
    max_tokens: int = 8192  # per corpus: perplexity and held-out chat loss budget
    batch_tokens: int = 2048  # tokens per packed forward pass
    max_new_tokens: int = 48  # of each greedy sample answer
    repetition_penalty: float = 1.1  # greedy decoding of small models loops without one
    prompts: tuple[str, ...] = ()  # fixed prompts answered greedily after every stage


@dataclass(frozen=True)
class ChecksSettings:
    """`training.checks`: what training_summary.json verifies (training/report.py)."""

    # On general text from outside the training mix, perplexity may rise at most this much over base.
    max_general_ppl_increase_pct: float = 5.0
    # General benchmarks: the paired 95% CI upper bound of (stage - base) accuracy must reach -this.
    max_general_accuracy_drop_points: float = 2.0
    min_rm_accuracy: float = 0.5  # held-out preference accuracy of the reward model, above
    min_dpo_accuracy: float = 0.5  # held-out implicit-reward accuracy of DPO, above


def eval_settings(params: Mapping | EvalSettings) -> EvalSettings:
    return from_params(EvalSettings, params, "training.eval")


def checks_settings(params: Mapping | ChecksSettings) -> ChecksSettings:
    return from_params(ChecksSettings, params, "training.checks")


def stage_settings(stage: str, params: Mapping | StageSettings) -> StageSettings:
    """`training.<stage>` as its settings class (checked; left-out keys take their defaults)."""
    settings = from_params(SETTINGS[stage], params, f"training.{stage}")
    if settings.num_train_epochs is None and settings.max_steps is None:
        raise SettingsError(f"training.{stage}: set max_steps or num_train_epochs")
    return settings
