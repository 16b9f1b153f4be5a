"""Every stage end to end on a tiny model under DeepSpeed ZeRO-2 on CPU (the session `chain`)."""

import json

import pytest
import torch
from tiny_training import PARAMS, chats, documents, preferences

from domainforge.training import evaluate, stages
from domainforge.training.artifacts import RUN_FILE
from domainforge.training.engine import stage_fingerprint as fingerprint


def _losses(result):
    return [entry["loss"] for entry in result.history if "loss" in entry]


@pytest.mark.parametrize("stage", ["pt", "sft", "rm", "dpo"])
def test_loss_decreases(chain, stage):
    losses = _losses(chain[stage])
    assert len(losses) == PARAMS[stage]["max_steps"]
    assert losses[-1] < losses[0]


def test_killed_stage_resumes_from_its_last_checkpoint(chain):
    pt = chain["pt"]
    assert pt.summary["resumed_from_step"] == 2
    assert pt.summary["global_step"] == PARAMS["pt"]["max_steps"]
    steps = [entry["step"] for entry in pt.history if "loss" in entry]
    assert steps == list(range(1, PARAMS["pt"]["max_steps"] + 1))  # steps 1-2 restored, not redone
    # Tokens count from the checkpoint on (the whole run); tokens/s only this session's steps 3-6.
    tokens = [entry["num_input_tokens_seen"] for entry in pt.history if "loss" in entry]
    assert tokens == sorted(tokens) and tokens[0] > 0 and pt.summary["tokens"] == tokens[-1]
    # train_runtime_s is rounded to 10 ms, a few % of this tiny run: bound the rate both ways.
    runtime_s = pt.summary["train_runtime_s"]
    slowest, fastest = ((tokens[-1] - tokens[1]) / (runtime_s + d) for d in (0.005, -0.005))
    assert slowest * 0.99 <= pt.summary["tokens_per_second"] <= fastest * 1.01
    assert not (pt.model.path.parent / "checkpoints").exists()  # cleaned once the model is final


def test_artifacts_load_with_from_pretrained(chain):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    for stage in ("pt", "sft", "dpo"):
        model = AutoModelForCausalLM.from_pretrained(chain[stage].model)
        assert model.config.model_type == "llama"
        AutoTokenizer.from_pretrained(chain[stage].model)
    reward = AutoModelForSequenceClassification.from_pretrained(chain["rm"].model)
    tokenizer = AutoTokenizer.from_pretrained(chain["rm"].model)
    assert reward.config.num_labels == 1
    assert reward.config.pad_token_id == tokenizer.pad_token_id != tokenizer.eos_token_id


def test_lora_adapter_is_merged_into_a_full_model(chain):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    sft_dir = chain["sft"].model.path
    assert (sft_dir / "adapter" / "adapter_config.json").is_file()
    merged = AutoModelForCausalLM.from_pretrained(sft_dir).eval()
    unmerged = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(chain["pt"].model), sft_dir / "adapter"
    ).eval()
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, unmerged(ids).logits, atol=1e-4, rtol=1e-4)


def test_finished_stage_is_reused_unless_inputs_or_params_change(chain, runtime):
    again = stages.supervised_finetuning(chain["pt"].model, chats(), params=PARAMS["sft"], runtime=runtime)
    assert again.summary["reused"] and again.model.path == chain["sft"].model.path
    assert again.summary["fingerprint"] == chain["sft"].summary["fingerprint"]
    run_info = json.loads((chain["sft"].model.path / RUN_FILE).read_text())
    assert run_info["fingerprint"] == chain["sft"].summary["fingerprint"]
    # Cadence does not matter; data and recipe do.
    base = (chain["pt"].model, (chats(),), PARAMS["sft"], runtime)
    assert fingerprint("sft", *base) == chain["sft"].summary["fingerprint"]
    assert fingerprint("sft", base[0], base[1], {**PARAMS["sft"], "save_steps": 7}, runtime) == fingerprint(
        "sft", *base
    )
    assert fingerprint(
        "sft", base[0], base[1], {**PARAMS["sft"], "learning_rate": 1e-4}, runtime
    ) != fingerprint("sft", *base)
    assert fingerprint("sft", base[0], (chats(15),), PARAMS["sft"], runtime) != fingerprint("sft", *base)


def test_sft_packing_is_padding_free(chain):
    summary = chain["sft"].summary
    assert summary["chats_used"] == 16
    # Tokens stepped on: at most one full row per micro-batch, no padding anywhere.
    micro_batches = summary["global_step"] * summary["gradient_accumulation_steps"]
    assert 0 < summary["tokens"] <= micro_batches * summary["packing_capacity"]
    logged = [entry["num_input_tokens_seen"] for entry in chain["sft"].history if "loss" in entry]
    assert logged == sorted(logged) and logged[-1] == summary["tokens"]
    assert summary["packed_rows"] < summary["chats_used"]  # several chats per row


def test_evaluations_on_trained_models(chain):
    lm = evaluate.evaluate_language_model(chain["sft"].model, documents(), chats(), PARAMS["eval"])
    assert set(lm["perplexity"]) == {"domain", "general"}
    assert all(entry["perplexity"] > 1 for entry in lm["perplexity"].values())
    base_loss = evaluate.evaluate_language_model(chain["pt"].model, documents(2), chats(), PARAMS["eval"])
    assert lm["chat_loss"]["domain"]["loss"] < base_loss["chat_loss"]["domain"]["loss"]
    assert len(lm["samples"]) == 1
    rm = evaluate.evaluate_reward_model(chain["rm"].model, preferences(), PARAMS["eval"])
    assert rm["pairs"] == 12 and rm["accuracy"] > 0.5
    assert rm["ci95"][0] <= rm["accuracy"] <= rm["ci95"][1]  # (its width: test_reward.py)
    # A held-out pair whose prompt fills the whole window cannot be scored: reported, not fatal.
    held_out = preferences()
    held_out.at[0, "prompt"] = [{"role": "user", "content": "问题 " * PARAMS["eval"]["max_length"]}]
    dpo = evaluate.evaluate_dpo(chain["dpo"].model, chain["sft"].model, held_out, PARAMS["eval"], beta=PARAMS["dpo"]["beta"])
    assert dpo["reward_accuracy"] > 0.5 and dpo["reward_margin_mean"] > 0
    assert dpo["pairs"] == 11 and [s["id"] for s in dpo["skipped"]] == ["pair0"]
    assert "no assistant token within" in dpo["skipped"][0]["reason"]


@pytest.mark.slow
def test_launcher_runs_the_stage_in_a_worker_process(tiny_model, runtime, tmp_path):
    """The launcher path (spec -> torchrun -> worker -> finished run dir) with one process;
    several processes and hosts: test_launch.py."""
    from dataclasses import replace

    from domainforge.training.artifacts import ModelDir
    from domainforge.training.engine import RunDir, StageResult, _launch

    isolated = replace(runtime, work_dir=str(tmp_path))
    params = {**PARAMS["pt"], "max_steps": 2}
    model, frames = ModelDir(tiny_model), (documents(),)
    stage_id = fingerprint("pt", model, frames, params, isolated)
    run = RunDir(tmp_path / "pt" / stage_id[:16], stage_id)
    _launch("pt", run, model, frames, params, isolated)
    result = StageResult.load(run.final, reused=False)
    assert result.summary["global_step"] == 2 and result.summary["fingerprint"] == stage_id
