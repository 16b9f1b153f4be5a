"""Building a retriever outside Kedro: chunk, embed, then FAISS + BM25 (the rag pipeline runs the
same steps as separate nodes, with the embedder tuning, query adapter and answer threshold)."""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from domainforge import progress
from domainforge.retrieval import vector_index
from domainforge.retrieval.chunking import Chunk, chunk_texts
from domainforge.retrieval.embedders import Embedder, load_embedder
from domainforge.retrieval.lexical import LexicalIndex
from domainforge.retrieval.retriever import Retriever, chunks_table
from domainforge.retrieval.settings import Bm25Settings, ChunkingSettings, IndexSettings, RetrievalSettings
from domainforge.typed_settings import from_params

log = logging.getLogger(__name__)


def index_texts(
    texts: Sequence[str],
    ids: Sequence[str],
    *,
    max_chars: int = ChunkingSettings.max_chars,
    overlap_chars: int = ChunkingSettings.overlap_chars,
    **kwargs,
) -> Retriever:
    """Chunk `texts` (each cited by its id) and index them. Keyword arguments are those of
    `build_retriever`: embedder, index, retrieval, bm25."""
    return build_retriever(chunk_texts(list(texts), [str(i) for i in ids], max_chars, overlap_chars), **kwargs)


def build_retriever(
    chunks: Sequence[Chunk] | pd.DataFrame,
    *,
    embedder: Embedder | dict | None = None,
    index: IndexSettings | dict | None = None,
    retrieval: RetrievalSettings | dict | None = None,
    bm25: Bm25Settings | dict | None = None,
) -> Retriever:
    """A retriever over `chunks` (no query adapter, no calibrated answer threshold); the settings
    are those of `rag.index`, `rag.retrieval`, `rag.bm25` (retrieval/settings.py)."""
    table = checked_chunks(chunks)
    index_settings = from_params(IndexSettings, index, "rag.index")
    index_settings.resolved_kind(len(table))  # fail on a bad kind before the slow part
    settings = RetrievalSettings.from_dict(retrieval)
    bm25 = from_params(Bm25Settings, bm25, "rag.bm25")
    embedder = embedder if hasattr(embedder, "embed_passages") else load_embedder(embedder)
    texts = table["text"].tolist()
    faiss_index = vector_index.build_index(embed_passages(embedder, texts), index_settings)
    return Retriever(table, embedder, faiss_index, LexicalIndex.build(texts, bm25.k1, bm25.b), index_settings, settings)


def checked_chunks(chunks: Sequence[Chunk] | pd.DataFrame) -> pd.DataFrame:
    """The chunk table, refused when there is nothing to index or a chunk id repeats."""
    table = chunks_table(chunks)
    if table.empty:
        raise ValueError("nothing to index: no chunks")
    if table["chunk_id"].duplicated().any():
        dup = table.loc[table["chunk_id"].duplicated(), "chunk_id"].iloc[0]
        raise ValueError(f"duplicate chunk id {dup!r}: source ids must be unique")
    return table


def embed_passages(embedder: Embedder, texts: list[str], block: int = 2048, runtime=None) -> np.ndarray:
    """Passage vectors, with a progress bar and log lines (a large corpus takes minutes on CPU).

    With a Ray `runtime` (curation_runtime, engine `ray`) the blocks are Ray Data tasks: the
    embedder is sent to the workers once and each task embeds one block, exactly as here."""
    if runtime is not None and runtime.engine == "ray" and len(texts) > block:
        from domainforge.curation.engine import run_tasks

        blocks = list(range(-(-len(texts) // block)))
        return np.concatenate(run_tasks(_embed_block, blocks, runtime, embedder, texts, block, desc="embed chunks"))
    parts = []
    with progress.counter(len(texts), desc="embed chunks", unit="chunk") as bar:
        for start in range(0, len(texts), block):
            parts.append(embedder.embed_passages(texts[start : start + block]))
            bar.update(len(parts[-1]))
            log.info("embedded %d/%d chunks", min(start + block, len(texts)), len(texts))
    return np.vstack(parts) if parts else np.empty((0, embedder.dim), dtype=np.float32)


def _embed_block(embedder: Embedder, texts: list[str], block: int, task: int) -> np.ndarray:
    return embedder.embed_passages(texts[task * block : (task + 1) * block])
