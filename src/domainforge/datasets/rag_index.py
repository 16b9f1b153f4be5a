"""A saved `domainforge.rag.Retriever` (folder: chunks, FAISS vectors, BM25, config)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from domainforge.atomic_dir import readable, replacing
from domainforge.rag.retriever import Retriever


class RagIndexDataset(AbstractDataset[Retriever, Retriever]):
    """`load_args` go to `Retriever.load` (default `mmap: true`: the FAISS vectors and BM25
    matrices are memory-mapped, so loading a large index is instant and pages in on demand)."""

    def __init__(self, filepath: str, load_args: dict | None = None, metadata: dict | None = None):
        self._filepath = Path(filepath)
        self._load_args = {"mmap": True, **(load_args or {})}
        self.metadata = metadata

    def load(self) -> Retriever:
        return Retriever.load(self._filepath, **self._load_args)

    def save(self, data: Retriever) -> None:
        # Written beside the old index and swapped in: a crash never leaves half an index or none.
        with replacing(self._filepath) as staging:
            data.save(staging)

    def _exists(self) -> bool:
        return (readable(self._filepath) / "config.json").is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "load_args": self._load_args}
