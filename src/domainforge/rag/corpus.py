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


def question_answer_pairs(chats: pd.DataFrame, corpus: str) -> tuple[list[str], list[str]]:
    """(user turn, passage id `<chat id>/<turn>` of the assistant turn answering it) for every
    answered question of the `corpus` chats."""
    questions, answers = [], []
    for chat_id, chat_corpus, messages in chats[["id", "corpus", "messages"]].itertuples(index=False):
        if chat_corpus != corpus:
            continue
        for turn in range(1, len(messages)):
            if messages[turn]["role"] == "assistant" and messages[turn - 1]["role"] == "user":
                questions.append(messages[turn - 1]["content"])
                answers.append(f"{chat_id}/{turn}")
    return questions, answers


def build_retriever(chunks: pd.DataFrame, chats: pd.DataFrame, params: dict) -> Retriever:
    """Embed and index the chunks; then, when the domain's chat answers are indexed, learn a query
    adapter from their questions (`rag.query_adapter`; kept only if it beats no adapter on
    held-out pairs)."""
    retriever = Retriever.from_chunks(
        chunks,
        embedder=params["embedder"],
        index=params["index"],
        retrieval=params["retrieval"],
        bm25=params["bm25"],
    )
    if params["sources"].get("chat_answers", True):
        questions, answers = question_answer_pairs(chats, params["sources"]["corpus"])
        report = retriever.fit_query_adapter(questions, answers, params["query_adapter"])
        log.info(
            "query adapter: %s (%d pairs%s)", report["adapter"] or "none", report["pairs"],
            f"; {report['reason']}" if report.get("reason") else "",
        )
    return retriever
