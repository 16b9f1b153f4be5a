"""A Hugging Face model directory as a catalog artifact (base, PT, SFT, reward and DPO models).

load() returns a `ModelDir`: an os.PathLike handle to the directory, so
`AutoModelForCausalLM.from_pretrained(model_dir)` works directly, and
`model_dir.load_causal_lm()` / `.load_tokenizer()` / `.load_reward_model()` give objects.
save() takes a ModelDir (or any directory path) and mirrors it here with hard links where the
filesystem allows, so the training engine's run directory and the catalog copy share disk space.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from domainforge.atomic_dir import readable
from domainforge.training.artifacts import ModelDir, check_model_dir, link_tree


class HFModelDataset(AbstractDataset[ModelDir, ModelDir]):
    def __init__(self, filepath: str, metadata: dict | None = None):
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> ModelDir:
        return check_model_dir(readable(self._filepath))

    def save(self, data: ModelDir | str | os.PathLike) -> None:
        if not isinstance(data, str | os.PathLike):
            raise DatasetError(
                f"HFModelDataset({self._filepath}) saves a model directory (ModelDir or path), "
                f"got {type(data).__name__}"
            )
        source = check_model_dir(data).path
        if source.resolve() == self._filepath.resolve():
            return
        link_tree(source, self._filepath)

    def _exists(self) -> bool:
        return (readable(self._filepath) / "config.json").is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
