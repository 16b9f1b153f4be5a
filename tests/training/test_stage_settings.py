"""Stage settings: a misspelt key is an error naming it; a key left out takes the dataclass's
default; num_train_epochs replaces max_steps."""
import pytest
from tiny_training import PARAMS

from domainforge.training.models import CAUSAL, lora_config
from domainforge.training.runtime import Runtime, trainer_kwargs
from domainforge.training.stage_settings import LoraSettings, stage_settings


def test_a_misspelt_stage_key_is_an_error_naming_it():
    with pytest.raises(ValueError, match=r"training.sft: unknown setting 'max_step'; did you mean 'max_steps'"):
        stage_settings("sft", {**PARAMS["sft"], "max_step": 20})
    with pytest.raises(ValueError, match="unknown setting 'seq_len'"):
        stage_settings("sft", {**PARAMS["sft"], "seq_len": 64})  # a pt setting in sft
    with pytest.raises(ValueError, match="max_steps or num_train_epochs"):
        stage_settings("rm", {k: v for k, v in PARAMS["rm"].items() if k != "max_steps"})
    # LoRA's keys are checked too (they used to be read with .get and a default).
    with pytest.raises(ValueError, match=r"training.sft.lora: unknown setting 'rank'"):
        stage_settings("sft", {**PARAMS["sft"], "lora": {"rank": 8}})
    with pytest.raises(ValueError, match=r"training.dpo.finetuning must be one of 'full', 'lora', got 'lorra'"):
        stage_settings("dpo", {**PARAMS["dpo"], "finetuning": "lorra"})
    with pytest.raises(ValueError, match=r"training.pt: missing setting 'seq_len'"):
        stage_settings("pt", {k: v for k, v in PARAMS["pt"].items() if k != "seq_len"})
    for stage in ("pt", "sft", "rm", "dpo"):
        stage_settings(stage, PARAMS[stage])


def test_left_out_keys_take_the_defaults():
    dpo = stage_settings("dpo", {"max_steps": 2, "learning_rate": 1e-5, "max_length": 64, "batch_size": 2})
    assert (dpo.seed, dpo.beta, dpo.loss_type, dpo.finetuning, dpo.save_steps) == (42, 0.1, ("sigmoid",), "full", 50)
    assert lora_config(dpo, CAUSAL) is None
    sft = stage_settings("sft", {**PARAMS["sft"], "lora": {"r": 4}})
    assert sft.lora == LoraSettings(r=4, alpha=32, dropout=0.0, target_modules="all-linear")
    config = lora_config(sft, CAUSAL)
    assert (config.r, config.lora_alpha, config.lora_dropout, config.target_modules) == (4, 32, 0.0, "all-linear")


def test_num_train_epochs_replaces_max_steps(tmp_path):
    runtime = Runtime(deepspeed={}, work_dir=str(tmp_path))
    by_steps = trainer_kwargs(stage_settings("pt", {**PARAMS["pt"], "warmup_ratio": 0.5}), runtime, str(tmp_path), 1, 1)
    assert by_steps["max_steps"] == 6 and by_steps["warmup_steps"] == 3
    epochs = stage_settings("pt", {**PARAMS["pt"], "num_train_epochs": 2, "warmup_ratio": 0.5})
    by_epochs = trainer_kwargs(epochs, runtime, str(tmp_path), 1, 1)
    assert by_epochs["max_steps"] == -1 and by_epochs["num_train_epochs"] == 2.0
    assert by_epochs["warmup_steps"] == 0.5  # a float below 1: transformers reads it as a ratio
    # What the parameters leave out: the dataclass's defaults reach the Trainer.
    assert (by_steps["lr_scheduler_type"], by_steps["weight_decay"], by_steps["max_grad_norm"]) == ("linear", 0.0, 1.0)
    assert by_steps["seed"] == 0 and by_steps["save_steps"] == 2
