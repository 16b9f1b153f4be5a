"""The curated SFT and preference splits as one folder that other trainers read directly.

`chat_dataset_files` is pure: the four model-input tables in, {relative path: text} out, saved by
the `<domain>.hf_chat_dataset` catalog entry (a PartitionedDataset of text files):
- `data/{sft,preference}_{train,eval}.jsonl`: the records;
- `README.md`: a Hugging Face dataset card whose `configs` make `datasets.load_dataset(folder,
  "sft")` / `"preference"` return the train and eval splits;
- `dataset_info.json`: LLaMA-Factory's entries for both (`dataset_dir` = the folder).

SFT records are `messages: [{role, content}]`. Preference records keep TRL's conversational
columns (`prompt` messages, `chosen`/`rejected` one-message lists) and add `chosen_message` /
`rejected_message`, the single message dicts LLaMA-Factory's ranking format reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pandas as pd
from huggingface_hub import DatasetCard, DatasetCardData

from domainforge.training.artifacts import to_plain

# LLaMA-Factory's sharegpt tags for the OpenAI-style messages the pipeline writes.
_TAGS = {
    "role_tag": "role",
    "content_tag": "content",
    "user_tag": "user",
    "assistant_tag": "assistant",
    "system_tag": "system",
}

TEMPLATE = """---
{{ card_data }}
---

# {{ pretty_name }}

Curated chats and preference pairs of the DomainForge `{{ domain }}` build (ingest, normalisation,
language ID, quality filters, fastText classifier, dedup, PII scrubbing, 1:1 general:domain mix,
train/eval split by record id).

> **Disclaimer.** {{ disclaimer }}

| config | split | records | file |
|---|---|---:|---|
{% for row in files -%}
| {{ row.config }} | {{ row.split }} | {{ row.records }} | `{{ row.path }}` |
{% endfor %}
```python
from datasets import load_dataset
sft = load_dataset("{{ folder }}", "sft")               # messages: [{role, content}]
pairs = load_dataset("{{ folder }}", "preference")      # prompt, chosen, rejected (TRL)
```

LLaMA-Factory: `dataset_dir: {{ folder }}` with `dataset: {{ domain }}_sft` (SFT) or
`{{ domain }}_preference` (`stage: rm` / `dpo`; entries in `dataset_info.json`).
"""


def _jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def _sft(chats: pd.DataFrame) -> list[dict]:
    return [{"id": row.id, "messages": to_plain(row.messages)} for row in chats.itertuples(index=False)]


def _preferences(pairs: pd.DataFrame) -> list[dict]:
    records = []
    for row in pairs.itertuples(index=False):
        chosen, rejected = to_plain(row.chosen), to_plain(row.rejected)
        if len(chosen) != 1 or len(rejected) != 1:
            raise ValueError(f"preference {row.id}: chosen and rejected must be one assistant message each")
        records.append(
            {
                "id": row.id,
                "prompt": to_plain(row.prompt),
                "chosen": chosen,
                "rejected": rejected,
                "chosen_message": chosen[0],
                "rejected_message": rejected[0],
            }
        )
    return records


def chat_dataset_files(
    sft_train: pd.DataFrame,
    sft_eval: pd.DataFrame,
    preference_train: pd.DataFrame,
    preference_eval: pd.DataFrame,
    card: Mapping,
) -> dict[str, str]:
    """{path inside the folder: file text}. card: domain, disclaimer (the model card settings)."""
    domain = card["domain"]
    tables = {
        ("sft", "train"): _sft(sft_train),
        ("sft", "eval"): _sft(sft_eval),
        ("preference", "train"): _preferences(preference_train),
        ("preference", "eval"): _preferences(preference_eval),
    }
    files = {f"data/{config}_{split}.jsonl": _jsonl(records) for (config, split), records in tables.items()}
    card_data = DatasetCardData(
        pretty_name=f"DomainForge {domain} chats and preferences",
        task_categories=["text-generation"],
        tags=["domainforge", *card.get("tags", []), "sft", "dpo"],
        configs=[
            {
                "config_name": config,
                "data_files": [
                    {"split": split, "path": f"data/{config}_{split}.jsonl"} for split in ("train", "eval")
                ],
            }
            for config in ("sft", "preference")
        ],
    )
    folder = f"data/05_model_input/{domain}/hf_chat_dataset"
    files["README.md"] = DatasetCard.from_template(
        card_data,
        template_str=TEMPLATE,
        domain=domain,
        disclaimer=" ".join(card["disclaimer"].split()),
        files=[
            {"config": config, "split": split, "records": len(records), "path": f"data/{config}_{split}.jsonl"}
            for (config, split), records in tables.items()
        ],
        folder=folder,
    ).content
    files["dataset_info.json"] = json.dumps(
        {
            f"{domain}_sft": {
                "file_name": "data/sft_train.jsonl",
                "formatting": "sharegpt",
                "columns": {"messages": "messages"},
                "tags": _TAGS,
            },
            f"{domain}_preference": {
                "file_name": "data/preference_train.jsonl",
                "formatting": "sharegpt",
                "ranking": True,
                "columns": {"messages": "prompt", "chosen": "chosen_message", "rejected": "rejected_message"},
                "tags": _TAGS,
            },
        },
        ensure_ascii=False,
        indent=2,
    )
    return files
