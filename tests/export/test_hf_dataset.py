"""The curated chats and preference pairs as a folder for other trainers: written through the
real catalog entry, read back with `datasets.load_dataset` and checked against LLaMA-Factory's
dataset_info.json format."""

from __future__ import annotations

import json

import yaml
from huggingface_hub import DatasetCard
from tiny_training import REPO, chats, preferences

from domainforge.export.hf_dataset import chat_dataset_files

CARD = yaml.safe_load((REPO / "conf/base/parameters_medical.yml").read_text())["medical"]["model_card"]


def _catalog(tmp_path, monkeypatch):
    from kedro.config import OmegaConfigLoader
    from kedro.io import DataCatalog

    monkeypatch.chdir(tmp_path)  # the entry's relative path lands in tmp_path
    return DataCatalog.from_config(
        OmegaConfigLoader(conf_source=str(REPO / "conf"), base_env="base", default_run_env="local")["catalog"]
    )


def test_folder_loads_with_datasets_and_matches_llama_factory_entries(tmp_path, monkeypatch):
    from datasets import load_dataset

    sft_train = chats(6)
    sft_train.at[0, "messages"] = [{"role": "system", "content": "你是医生。"}, *sft_train.at[0, "messages"]]
    files = chat_dataset_files(sft_train, chats(2), preferences(5), preferences(2), CARD)
    catalog = _catalog(tmp_path, monkeypatch)
    catalog.save("medical.hf_chat_dataset", files)
    folder = tmp_path / "data/05_model_input/medical/hf_chat_dataset"

    sft = load_dataset(str(folder), "sft")
    assert {name: len(split) for name, split in sft.items()} == {"train": 6, "eval": 2}
    assert sft["train"][0]["messages"] == sft_train.at[0, "messages"]
    assert sft["train"]["id"] == list(sft_train["id"])
    pairs = load_dataset(str(folder), "preference")
    assert {name: len(split) for name, split in pairs.items()} == {"train": 5, "eval": 2}
    first = preferences(1).iloc[0]
    assert pairs["train"][0]["prompt"] == first["prompt"] and pairs["train"][0]["chosen"] == first["chosen"]

    card = DatasetCard.load(folder / "README.md")
    assert [c["config_name"] for c in card.data.configs] == ["sft", "preference"]
    assert "not a medical device" in card.text and "| sft | train | 6 |" in card.text

    info = json.loads((folder / "dataset_info.json").read_text(encoding="utf-8"))
    assert set(info) == {"medical_sft", "medical_preference"}
    for entry in info.values():
        records = [json.loads(line) for line in (folder / entry["file_name"]).read_text(encoding="utf-8").splitlines()]
        tags = entry["tags"]
        assert entry["formatting"] == "sharegpt"
        for record in records:
            messages = record[entry["columns"]["messages"]]
            roles = [m[tags["role_tag"]] for m in messages if m[tags["role_tag"]] != tags["system_tag"]]
            assert roles[0] == tags["user_tag"] and all(m[tags["content_tag"]] for m in messages)
            if entry.get("ranking"):  # the prompt ends with the user; chosen/rejected: one message each
                assert roles[-1] == tags["user_tag"]
                for side in ("chosen", "rejected"):
                    message = record[entry["columns"][side]]
                    assert message[tags["role_tag"]] == tags["assistant_tag"] and message[tags["content_tag"]]
            else:
                assert roles[-1] == tags["assistant_tag"]
    assert len(records) == 5


def test_rewriting_leaves_no_stale_files(tmp_path, monkeypatch):
    catalog = _catalog(tmp_path, monkeypatch)
    catalog.save("medical.hf_chat_dataset", {"data/old.jsonl": "{}\n"})
    catalog.save("medical.hf_chat_dataset", chat_dataset_files(chats(2), chats(1), preferences(2), preferences(1), CARD))
    folder = tmp_path / "data/05_model_input/medical/hf_chat_dataset"
    assert not (folder / "data/old.jsonl").exists()
    assert sorted(p.name for p in (folder / "data").iterdir()) == [
        "preference_eval.jsonl",
        "preference_train.jsonl",
        "sft_eval.jsonl",
        "sft_train.jsonl",
    ]
