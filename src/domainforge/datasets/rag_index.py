"""A saved `domainforge.rag.Retriever` (folder: chunks, FAISS vectors, BM25, config)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

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
        # Write beside the old index and swap, so a failed save never leaves half an index.
        staging = self._filepath.with_name(self._filepath.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        data.save(staging)
        shutil.rmtree(self._filepath, ignore_errors=True)
        staging.rename(self._filepath)

    def _exists(self) -> bool:
        return (self._filepath / "config.json").is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "load_args": self._load_args}
