"""Model artifacts on disk and the fingerprints that decide whether a finished stage is reused.

A model artifact is a plain Hugging Face directory (config, weights, tokenizer). Directories the
training engine writes also hold `domainforge_run.json`: the fingerprint of everything that
produced them (input model, input data, parameters, code version) plus the training log.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from domainforge.atomic_dir import replacing

RUN_FILE = "domainforge_run.json"
# Weight files are identified by size plus their first and last MiB: hashing whole multi-GB
# checkpoints on every run would cost more than the skip saves.
_SAMPLED_HASH_ABOVE = 64 << 20
_SAMPLE = 1 << 20


@dataclass(frozen=True)
class ModelDir(os.PathLike):
    """A Hugging Face model directory. Usable wherever a path is (`from_pretrained(model_dir)`)."""

    path: Path

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    @property
    def run_info(self) -> dict:
        """What the training engine recorded about this model ({} for foreign directories)."""
        run_file = self.path / RUN_FILE
        return json.loads(run_file.read_text(encoding="utf-8")) if run_file.is_file() else {}

    def fingerprint(self) -> str:
        return self.run_info.get("fingerprint") or directory_fingerprint(self.path)

    def load_tokenizer(self):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.path)

    def load_causal_lm(self, **kwargs):
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(self.path, **kwargs)

    def load_reward_model(self, **kwargs):
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification.from_pretrained(self.path, **kwargs)


def check_model_dir(path: str | os.PathLike) -> ModelDir:
    """A ModelDir for `path`, or a clear error if it is not a Hugging Face model directory."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} is not a Hugging Face model directory (no config.json)")
    return ModelDir(path)


def directory_fingerprint(path: str | os.PathLike) -> str:
    """Content hash of a directory's files (large files sampled, see _SAMPLED_HASH_ABOVE)."""
    root = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file() and p.name != RUN_FILE):
        digest.update(str(file.relative_to(root)).encode())
        digest.update(file_fingerprint(file).encode())
    return digest.hexdigest()


def file_fingerprint(path: str | os.PathLike) -> str:
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        if size <= _SAMPLED_HASH_ABOVE:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
        else:
            digest.update(handle.read(_SAMPLE))
            handle.seek(size - _SAMPLE)
            digest.update(handle.read(_SAMPLE))
    return digest.hexdigest()


def to_plain(value: Any) -> Any:
    """JSON-able Python values from numpy arrays/scalars and nested containers."""
    if isinstance(value, np.ndarray):
        return [to_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """Hash of a record table's rows in order (list columns normalised first)."""
    digest = hashlib.sha256(json.dumps(list(frame.columns)).encode())
    for row in frame.itertuples(index=False):
        digest.update(json.dumps(to_plain(list(row)), ensure_ascii=False, sort_keys=True).encode())
    return digest.hexdigest()


def value_fingerprint(value: Any) -> str:
    return hashlib.sha256(
        json.dumps(to_plain(value), ensure_ascii=False, sort_keys=True).encode()
    ).hexdigest()


def link_tree(source: Path, target: Path) -> None:
    """Make `target` a copy of directory `source`, hard-linking files where the filesystem allows.

    The copy is built beside `target` and swapped in, so a crash never leaves a half-written model.
    """
    source = Path(source)
    with replacing(target) as staging:
        for file in source.rglob("*"):
            destination = staging / file.relative_to(source)
            if file.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(file, destination)
            except OSError:
                shutil.copy2(file, destination)


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(to_plain(value), ensure_ascii=False, indent=2), encoding="utf-8")
