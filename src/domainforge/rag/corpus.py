"""Node functions of the `rag` pipeline: what to index, chunks, and the retriever."""
from __future__ import annotations

import logging

import pandas as pd

from domainforge.data.records import drop_rows, drops_table
from domainforge.rag.chunking import chunk_texts
from domainforge.rag.retriever import Retriever, chunks_table

log = logging.getLogger(__name__)

PASSAGE_COLUMNS = ["id", "source", "text"]


def collect_passages(documents: pd.DataFrame, chats: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Passages to index, each citable by `id`: the `sources.corpus` documents, and (with
    `sources.chat_answers`) every assistant turn of that corpus's chats as `<chat id>/<turn>`.

    Passages with no text are returned as drops (`dropped:rag:empty_text`)."""
    sources = params["sources"]
    frames = []
    if sources.get("documents", True):
        docs = documents.loc[documents["corpus"] == sources["corpus"], PASSAGE_COLUMNS]
        frames.append(docs)
    if sources.get("chat_answers", True):
        rows = [
            {"id": f"{chat_id}/{turn}", "source": source, "text": message["content"]}
            for chat_id, source, corpus, messages in chats[["id", "source", "corpus", "messages"]].itertuples(index=False)
            if corpus == sources["corpus"]
            for turn, message in enumerate(messages)
            if message["role"] == "assistant"
        ]
        frames.append(pd.DataFrame(rows, columns=PASSAGE_COLUMNS))
    passages = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PASSAGE_COLUMNS)
    if passages["id"].duplicated().any():
        raise ValueError(f"duplicate passage id {passages.loc[passages['id'].duplicated(), 'id'].iloc[0]!r}")
    empty = ~passages["text"].map(lambda t: isinstance(t, str) and bool(t.strip()))
    if not empty.any():
        return passages.reset_index(drop=True), drops_table()
    return drop_rows(passages, empty, "dropped:rag:empty_text")


def chunk_passages(passages: pd.DataFrame, params: dict) -> pd.DataFrame:
    chunking = params["chunking"]
    chunks = chunk_texts(
        passages["text"].tolist(), passages["id"].tolist(), chunking["max_chars"], chunking["overlap_chars"]
    )
    log.info("%d passages -> %d chunks", len(passages), len(chunks))
    return chunks_table(chunks)


def build_retriever(chunks: pd.DataFrame, params: dict) -> Retriever:
    return Retriever.from_chunks(
        chunks,
        embedder=params["embedder"],
        index=params["index"],
        retrieval=params["retrieval"],
        bm25=params["bm25"],
    )
