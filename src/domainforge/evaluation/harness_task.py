"""The lm-evaluation-harness task for a multiple-choice file: its documents and its YAML.

The records (common shape) are written as harness documents `{id, question, choices, gold}`
(option texts in letter order, gold the answer's index), so files with any number of options
load as one `datasets` JSON table. The YAML is the standard zero-shot cloze form:

    dataset_path: json                          # datasets' packaged builder: local, offline
    dataset_kwargs: {data_files: {test: ..., dev: ...}, cache_dir: <task dir>}
    output_type: multiple_choice
    doc_to_text: "{{question}}\\n答案："          # or "{{question}}\\nAnswer:" for English
    doc_to_choice: choices                      # the option texts
    doc_to_target: gold
    target_delimiter: ""                        # " " for English: continuation " <option>"
    metric_list: [acc, acc_norm]

`acc` is the argmax of each option's summed log-likelihood, `acc_norm` the argmax per character
of the option. With `shots > 0` the first `shots` records of the dev file (`fewshot_split: dev`,
sampler `first_n`) precede each question, each followed by its answer text.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from domainforge.evaluation.prompt_language import PROMPTS

TASK_NAME = "domainforge_mcq"


def harness_document(record: dict) -> dict:
    letters = list(record["options"])
    return {
        "id": str(record["id"]),
        "question": record["question"],
        "choices": [record["options"][letter] for letter in letters],
        "gold": letters.index(record["answer"]),
    }


def _write_documents(records: list[dict], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(harness_document(record), ensure_ascii=False) + "\n")
    return path


def task_config(
    data_files: dict[str, str], *, language: str, shots: int = 0, cache_dir: str | None = None,
    task_name: str = TASK_NAME,
) -> dict:
    """The task's YAML content as a dict (see the module docstring)."""
    if language not in PROMPTS:
        raise ValueError(f"language must be one of {sorted(PROMPTS)}, got {language!r}")
    template, delimiter = PROMPTS[language]
    dataset_kwargs = {"data_files": data_files}
    if cache_dir:
        dataset_kwargs["cache_dir"] = cache_dir
    config = {
        "task": task_name,
        "dataset_path": "json",
        "dataset_kwargs": dataset_kwargs,
        "test_split": "test",
        "output_type": "multiple_choice",
        "doc_to_text": template,
        "doc_to_choice": "choices",
        "doc_to_target": "gold",
        "target_delimiter": delimiter,
        "fewshot_delimiter": "\n\n",
        "num_fewshot": shots,
        "metric_list": [
            {"metric": "acc", "aggregation": "mean", "higher_is_better": True},
            {"metric": "acc_norm", "aggregation": "mean", "higher_is_better": True},
        ],
        "metadata": {"version": 1.0},
    }
    if shots:
        config["fewshot_split"] = "dev"
        config["fewshot_config"] = {"sampler": "first_n"}
    return config


def write_task(
    records: list[dict], directory: str | Path, *, language: str, shots: int = 0,
    fewshot_records: list[dict] | None = None, task_name: str = TASK_NAME,
) -> Path:
    """Write `test.jsonl` (and `dev.jsonl`) and `<task_name>.yaml` into `directory`; the YAML's path."""
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    if shots < 0:
        raise ValueError(f"shots must be >= 0, got {shots}")
    data_files = {"test": str(_write_documents(records, directory / "test.jsonl"))}
    if shots:
        if not fewshot_records or len(fewshot_records) < shots:
            have = len(fewshot_records or [])
            raise ValueError(f"{shots}-shot needs at least {shots} few-shot records, got {have}")
        data_files["dev"] = str(_write_documents(fewshot_records, directory / "dev.jsonl"))
    config = task_config(
        data_files, language=language, shots=shots, cache_dir=str(directory / "hf_datasets"),
        task_name=task_name,
    )
    path = directory / f"{task_name}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path

