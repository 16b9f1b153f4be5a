"""A Hugging Face model directory as a catalog artifact (base, PT, SFT, reward and DPO models).

load() returns a `ModelDir`: an os.PathLike handle to the directory, so
`AutoModelForCausalLM.from_pretrained(model_dir)` works directly, and
`model_dir.load_causal_lm()` / `.load_tokenizer()` / `.load_reward_model()` give objects.
save() takes a ModelDir (or any directory path) and mirrors it here with hard links where the
filesystem allows, so the training engine's run directory and the catalog copy share disk space.
HFModelCardDataset is the folder's model card, README.md.
"""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard
from kedro.io import AbstractDataset, DatasetError
from kedro_datasets._typing import HTMLPreview, JSONPreview

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

    def preview(self) -> JSONPreview:
        """Architecture, parameter count (from the safetensors headers, no weights loaded), files
        and sizes, what produced it, and the card's front matter."""
        from safetensors import safe_open

        model = self.load()
        config = json.loads((model.path / "config.json").read_text(encoding="utf-8"))
        parameters = 0
        for weights in sorted(model.path.glob("*.safetensors")):
            with safe_open(weights, "np") as handle:
                for name in handle.keys():
                    shape = handle.get_slice(name).get_shape()
                    parameters += math.prod(shape)
        files = {
            p.relative_to(model.path).as_posix(): round(p.stat().st_size / 2**20, 3)
            for p in sorted(model.path.rglob("*"))
            if p.is_file()
        }
        run = model.run_info
        card = model.path / "README.md"
        keys = ["architectures", "model_type", "vocab_size", "hidden_size", "num_hidden_layers",
                "num_attention_heads", "max_position_embeddings", "dtype", "torch_dtype"]
        return JSONPreview(
            json.dumps(
                {
                    "path": str(model.path),
                    "config": {key: config[key] for key in keys if key in config},
                    "parameters": parameters,
                    "size_mib": round(sum(files.values()), 3),
                    "files_mib": files,
                    "stage": run.get("stage"),
                    "fingerprint": run.get("fingerprint"),
                    "training": run.get("summary"),
                    "card": ModelCard.load(card).data.to_dict() if card.is_file() else None,
                },
                ensure_ascii=False,
            )
        )


class HFModelCardDataset(AbstractDataset[str | ModelCard, ModelCard]):
    """The model card (README.md) of the Hugging Face model folder at `filepath`.

    Saves card text (or a ModelCard); loads a `huggingface_hub.ModelCard`. The folder belongs to
    the model's HFModelDataset, so the card node runs after the model is saved.
    """

    def __init__(self, filepath: str, metadata: dict | None = None):
        self._folder = Path(filepath)
        self.metadata = metadata

    @property
    def _card(self) -> Path:
        return readable(self._folder) / "README.md"

    def load(self) -> ModelCard:
        if not self._card.is_file():
            raise DatasetError(f"no model card at {self._card}: run the node that writes it first")
        return ModelCard.load(self._card)

    def save(self, data: str | ModelCard) -> None:
        card = check_model_dir(readable(self._folder)).path / "README.md"
        # The folder's files are hard links into the training run; never write through one.
        card.unlink(missing_ok=True)
        (data if isinstance(data, ModelCard) else ModelCard(data)).save(card)

    def _exists(self) -> bool:
        return self._card.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._folder)}

    def preview(self) -> HTMLPreview:
        """The card as written (front matter and markdown), verbatim."""
        return HTMLPreview(f"<pre>{html.escape(self._card.read_text(encoding='utf-8'))}</pre>")
