"""A saved `domainforge.retrieval.Retriever` (folder: chunks, FAISS vectors, BM25, config)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kedro.io import AbstractDataset
from kedro_datasets._typing import JSONPreview

from domainforge.atomic_dir import readable, replacing
from domainforge.retrieval.retriever import Retriever

# What the preview shows of the query adapter's training report (its history and settings are long).
ADAPTER_SUMMARY = ("adapter", "reason", "pairs", "validation_recall@5_identity", "validation_recall@5_adapted",
                   "best_epoch")


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

    def preview(self, nrows: int = 5, chars: int = 200) -> JSONPreview:
        """Chunk and source counts, the embedder, the FAISS and BM25 indexes with their sizes, the
        search settings, query adapter and answer threshold, and the first `nrows` chunks (text cut
        to `chars`). Read from the files: no embedder is loaded."""
        folder = readable(self._filepath)
        config_file = folder / "config.json"
        if not config_file.is_file():
            raise FileNotFoundError(f"{folder} is not a saved retriever (no config.json): run the rag pipeline first")
        config = json.loads(config_file.read_text(encoding="utf-8"))
        chunks = pd.read_parquet(folder / "chunks.parquet", columns=["chunk_id", "source_id", "text"])
        bm25 = folder / "bm25"
        bm25_params = json.loads((bm25 / "params.index.json").read_text(encoding="utf-8"))
        # bm25s' score matrix is column-compressed by token: one indptr entry per token, plus one.
        vocabulary = np.load(bm25 / "indptr.csc.index.npy", mmap_mode="r").shape[0] - 1
        adapter = config.get("query_adapter") or {}
        return JSONPreview(
            json.dumps(
                {
                    "path": str(folder),
                    "chunks": len(chunks),
                    "sources": int(chunks["source_id"].nunique()),
                    "embedder": config["embedder"],
                    "dim": config["dim"],
                    "faiss": {"kind": config["index_kind"], "mib": _mib(folder / "vectors.faiss")},
                    "bm25": {"documents": bm25_params.get("num_docs"), "vocabulary": int(vocabulary),
                             "k1": bm25_params.get("k1"), "b": bm25_params.get("b"), "mib": _mib(bm25)},
                    "retrieval": config["retrieval"],
                    "query_adapter": {key: adapter[key] for key in ADAPTER_SUMMARY if key in adapter} or None,
                    "answer_threshold": config.get("answer_threshold"),
                    "files_mib": {p.name: _mib(p) for p in sorted(folder.iterdir())},
                    "first_chunks": [
                        {"chunk_id": row.chunk_id, "source_id": row.source_id, "text": row.text[:chars]}
                        for row in chunks.head(nrows).itertuples(index=False)
                    ],
                },
                ensure_ascii=False,
            )
        )


def _mib(path: Path) -> float:
    """Size of a file, or of everything in a folder, in MiB."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 2**20, 3)
