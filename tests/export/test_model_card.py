"""Model cards: rendered from the run's reports, written into a model folder through the catalog
dataset, read back with huggingface_hub's ModelCard."""

from __future__ import annotations

import os

import pytest
import yaml
from huggingface_hub import ModelCard
from tiny_llama import save_tiny_llama
from tiny_training import REPO, make_tokenizer

from domainforge.datasets.hf_model import HFModelCardDataset, HFModelDataset
from domainforge.export.model_card import render_model_card

PARAMS = yaml.safe_load((REPO / "conf/base/parameters_medical.yml").read_text())["medical"]["model_card"]
BASE_MODEL = {"path": None, "hub_id": "HuggingFaceTB/SmolLM2-135M-Instruct", "license": "apache-2.0"}
RECIPE = {"max_steps": 8, "learning_rate": 5.0e-5, "finetuning": "lora", "lora": {"r": 16, "alpha": 32}}
DATA_REPORT = {
    "token_unit": "tokens",
    "records": {"input": 120, "kept": 90, "dropped": 28, "quarantined": 2},
    "funnel": [
        {"stage": "input", "records": 120, "tokens": 50000},
        {"stage": "quality", "records": 101, "tokens": 41000, "dropped": 7},
        {"stage": "mix", "records": 90, "tokens": 36000, "dropped": 4},
    ],
    "languages": {"zh": 60, "en": 25, "unknown": 0},
    "stages": {
        "mix_report_pretrain": {
            "unit": "tokens",
            "target_general_per_domain": 1.0,
            "achieved_general_per_domain": 0.987,
            "before": {"domain": 18000, "general": 30000, "records": 80},
            "after": {"domain": 18000, "general": 17770, "records": 61},
        },
        "mix_report_sft": {},
    },
}


def _report(stage, evaluation, training=None):
    return {"stage": stage, "model": "x", "training": training, "history": [], "evaluation": evaluation}


BASE_REPORT = _report(
    "base",
    {
        "perplexity": {"domain": {"perplexity": 13.68}, "general": {"perplexity": 24.1}},
        "chat_loss": {"domain": {"loss": 2.42}},
    },
)
SFT_REPORT = _report(
    "sft",
    {
        "perplexity": {"domain": {"perplexity": 9.91}, "general": {"perplexity": 17.2}},
        "chat_loss": {"domain": {"loss": 2.04}},
        "samples": [{"prompt": "发热怎么办？", "response": "多喝水，\n注意休息。"}],
    },
    {"global_step": 8, "tokens": 8192, "train_loss": 2.31, "train_runtime_s": 41.5},
)


@pytest.fixture
def sft_folder(tmp_path):
    return save_tiny_llama(tmp_path / "sft_model", make_tokenizer())


def test_card_written_through_the_catalog_reads_back_with_front_matter_and_sections(sft_folder):
    text = render_model_card("sft", SFT_REPORT, BASE_REPORT, DATA_REPORT, RECIPE, PARAMS, BASE_MODEL)
    dataset = HFModelCardDataset(str(sft_folder))
    dataset.save(text)

    card = ModelCard.load(sft_folder / "README.md")
    assert card.data.base_model == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert card.data.language == ["zh", "en"]  # by document count; unknown left out
    assert card.data.license == "apache-2.0"
    assert card.data.datasets == ["medical.pretrain_train", "medical.sft_train"]
    assert {"domainforge", "medical", "sft"} <= set(card.data.tags)
    assert card.data.pipeline_tag == "text-generation"
    body = card.text
    headings = [line for line in body.splitlines() if line.startswith("#")]
    assert headings == [
        "# domainforge-medical-sft",
        "## Training data",
        "## Training recipe",
        "## Evaluation",
        "## Use",
    ]
    assert "not a medical device" in body and "qualified clinician" in body
    assert "| quality | 101 | 41000 | 7 |" in body  # funnel
    assert "target 1.0" in body and "achieved 0.987" in body  # pretraining mix ratio
    assert "| `lora.r` | `16` |" in body  # recipe, nested keys flattened
    assert "| perplexity (domain) | 13.68 | 9.91 |" in body
    assert "| held-out chat loss (domain) | 2.42 | 2.04 |" in body
    assert "8 optimizer steps, 8192 tokens" in body
    assert "data/06_models/medical/sft_model" in body
    assert dataset.load().data.base_model == card.data.base_model
    assert "domainforge-medical-sft" in dataset.preview()


def test_saving_a_card_never_writes_through_a_hard_link(sft_folder, tmp_path):
    # Catalog model folders are hard links of the training run's files.
    original = tmp_path / "run_readme.md"
    original.write_text("the run's own file", encoding="utf-8")
    os.link(original, sft_folder / "README.md")
    HFModelCardDataset(str(sft_folder)).save(
        render_model_card("sft", SFT_REPORT, BASE_REPORT, DATA_REPORT, RECIPE, PARAMS, BASE_MODEL)
    )
    assert original.read_text(encoding="utf-8") == "the run's own file"
    assert ModelCard.load(sft_folder / "README.md").data.license == "apache-2.0"


def test_reward_and_dpo_cards_carry_their_metrics_and_legal_its_disclaimer():
    rm = _report("rm", {"pairs": 40, "accuracy": 0.525, "margin_mean": 0.12})
    text = render_model_card("rm", rm, BASE_REPORT, DATA_REPORT, RECIPE, PARAMS, BASE_MODEL)
    card = ModelCard(text)
    assert card.data.pipeline_tag == "text-classification"
    assert "| preference accuracy | n/a | 0.525 |" in card.text
    dpo = _report("dpo", {**SFT_REPORT["evaluation"], "preference": {"pairs": 37, "reward_accuracy": 0.54}})
    legal = yaml.safe_load((REPO / "conf/base/parameters_legal.yml").read_text())["legal"]["model_card"]
    card = ModelCard(render_model_card("dpo", dpo, BASE_REPORT, DATA_REPORT, RECIPE, legal, BASE_MODEL))
    assert card.data.datasets[-1] == "legal.preference_train"
    assert "| DPO reward accuracy | n/a | 0.54 |" in card.text
    assert "not legal advice" in card.text and "medical" not in card.text.lower()


def test_the_card_node_shows_the_recipe_as_trained_with_its_defaults():
    from domainforge.export.nodes import model_card

    recipe = {**RECIPE, "max_length": 512, "batch_tokens": 1024}
    body = model_card("sft")(SFT_REPORT, BASE_REPORT, DATA_REPORT, recipe, PARAMS, BASE_MODEL)
    assert "| `seed` | `42` |" in body and "| `lora.dropout` | `0.0` |" in body  # left out: the defaults
    assert "| `lora.r` | `16` |" in body and "| `max_length` | `512` |" in body


def test_unknown_stage_is_a_clear_error():
    with pytest.raises(ValueError, match="stage 'ppo'"):
        render_model_card("ppo", SFT_REPORT, BASE_REPORT, DATA_REPORT, RECIPE, PARAMS, BASE_MODEL)


def test_model_folder_preview_counts_parameters_without_loading_and_shows_the_card(sft_folder):
    from transformers import AutoModelForCausalLM

    HFModelCardDataset(str(sft_folder)).save(
        render_model_card("sft", SFT_REPORT, BASE_REPORT, DATA_REPORT, RECIPE, PARAMS, BASE_MODEL)
    )
    preview = __import__("json").loads(HFModelDataset(str(sft_folder)).preview())
    model = AutoModelForCausalLM.from_pretrained(sft_folder)
    assert preview["parameters"] == sum(p.numel() for p in model.parameters())
    assert preview["config"]["model_type"] == "llama" and preview["config"]["num_hidden_layers"] == 2
    assert {"config.json", "model.safetensors", "README.md"} <= set(preview["files_mib"])
    assert preview["card"]["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
