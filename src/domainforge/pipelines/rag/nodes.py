"""Nodes of the `rag` pipeline: passages -> chunks; question -> answer pairs -> the tuned embedder
and its held-out pairs; chunk vectors -> FAISS + BM25; the query adapter; the answer threshold;
the retriever that `rag_index` saves. Every node reads `params:rag` as `RagSettings`
(retrieval/settings.py: the keys, their defaults and meaning)."""
from __future__ import annotations

import logging
from dataclasses import asdict

import faiss
import numpy as np
import pandas as pd

from domainforge.curation.engine import CurationRuntime
from domainforge.curation.records import drop_rows, drops_table
from domainforge.curation.shards import Shards
from domainforge.retrieval import vector_index
from domainforge.retrieval.answer_threshold import calibrate_min_similarity
from domainforge.retrieval.build import checked_chunks, embed_passages
from domainforge.retrieval.chunking import chunk_texts
from domainforge.retrieval.embedders import Embedder, TorchE5Embedder
from domainforge.retrieval.embedders import load_embedder as load_embedder_spec
from domainforge.retrieval.embedders.embedders import embedder_options
from domainforge.retrieval.lexical import LexicalIndex
from domainforge.retrieval.retriever import Retriever, chunks_table
from domainforge.retrieval.settings import rag_settings
from domainforge.retrieval.tuning import embedder_tuning, query_adapter
from domainforge.retrieval.tuning.embedder_tuning import TunedEmbedder, split_pairs
from domainforge.retrieval.tuning.query_adapter import QueryAdapter

log = logging.getLogger(__name__)

PASSAGE_COLUMNS = ["id", "source", "text"]
PAIR_COLUMNS = ["question", "answer_id", "answer"]


def collect_passages(documents: Shards | pd.DataFrame, chats: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Passages to index, each citable by `id`: the `sources.corpus` documents (the curated
    ones still in play), and (with `sources.chat_answers`) every assistant turn of that corpus's
    chats as `<chat id>/<turn>`.

    Passages with no text are returned as drops (`dropped:rag:empty_text`)."""
    sources = rag_settings(params).sources
    frames = []
    if sources.documents:
        if isinstance(documents, Shards):
            documents = documents.to_pandas(["id", "source", "corpus", "text"])
        docs = documents.loc[documents["corpus"] == sources.corpus, PASSAGE_COLUMNS]
        frames.append(docs)
    if sources.chat_answers:
        rows = [
            {"id": f"{chat_id}/{turn}", "source": source, "text": message["content"]}
            for chat_id, source, corpus, messages in chats[["id", "source", "corpus", "messages"]].itertuples(index=False)
            if corpus == sources.corpus
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
    chunking = rag_settings(params).chunking
    chunks = chunk_texts(passages["text"].tolist(), passages["id"].tolist(), chunking.max_chars, chunking.overlap_chars)
    log.info("%d passages -> %d chunks", len(passages), len(chunks))
    return chunks_table(chunks)


def question_answer_pairs(chats: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Every answered question of the `sources.corpus` chats: the user turn, the passage id
    `<chat id>/<turn>` of the assistant turn answering it, and that answer's text."""
    rows, corpus_name = [], rag_settings(params).sources.corpus
    for chat_id, corpus, messages in chats[["id", "corpus", "messages"]].itertuples(index=False):
        if corpus != corpus_name:
            continue
        for turn in range(1, len(messages)):
            if messages[turn]["role"] == "assistant" and messages[turn - 1]["role"] == "user":
                rows.append((messages[turn - 1]["content"], f"{chat_id}/{turn}", messages[turn]["content"]))
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def tune_embedder(pairs: pd.DataFrame, params: dict) -> tuple[TunedEmbedder, pd.DataFrame]:
    """Fine-tune the e5_torch embedder on the question -> answer pairs (`rag.embedder_tuning`;
    kept only if it beats the untuned model on held-out pairs). Returns the result and the pairs
    the served embedder did not train on: the held-out ones when the tuning is kept, else all."""
    rag = rag_settings(params)
    settings = rag.embedder_tuning
    kind, options = embedder_options(rag.embedder)
    questions, answer_ids, answers = (pairs[column].tolist() for column in PAIR_COLUMNS)
    if kind != "e5_torch":
        reason = f"embedder kind {kind!r} is not fine-tunable (only e5_torch)"
        log.info("embedder tuning skipped: %s", reason)
        report = {"pairs": len(questions), "settings": asdict(settings), "tuned": False, "reason": reason}
        return TunedEmbedder(None, report), pairs
    weights, report = embedder_tuning.tune_embedder(
        lambda: TorchE5Embedder(**options)._model,  # a fresh copy to train
        questions, answers, answer_ids, settings,
    )
    log.info("embedder tuning: %s", "kept" if weights is not None else report.get("reason"))
    if weights is None:
        return TunedEmbedder(None, report), pairs
    return TunedEmbedder(weights, report), pairs.iloc[split_pairs(answer_ids, settings)[1]].reset_index(drop=True)


def load_embedder(tuned: TunedEmbedder, params: dict) -> Embedder:
    """The `rag.embedder` that embeds chunks and questions, with the tuned tensors when kept."""
    spec = rag_settings(params).embedder
    if tuned.weights is None:
        return load_embedder_spec(spec)
    _, options = embedder_options(spec)
    return TorchE5Embedder(**{k: v for k, v in options.items() if k != "weights"}, tuned_weights=tuned.weights)


def embed_chunks(chunks: pd.DataFrame, embedder: Embedder, runtime: dict) -> pd.DataFrame:
    """Every chunk's passage vector (`chunk_id`, `vector`), in chunk order; on Ray Data tasks
    when `curation_runtime.engine` is `ray`."""
    table = checked_chunks(chunks)
    vectors = embed_passages(embedder, table["text"].tolist(), runtime=CurationRuntime.from_params(runtime))
    return pd.DataFrame({"chunk_id": table["chunk_id"], "vector": list(vectors)})


def index_chunks(chunks: pd.DataFrame, vectors: pd.DataFrame, params: dict) -> tuple[faiss.Index, LexicalIndex]:
    """The FAISS index of the chunk vectors (`rag.index`) and the BM25 index of their texts (`rag.bm25`)."""
    rag = rag_settings(params)
    faiss_index = vector_index.build_index(_matrix(vectors, chunks), rag.index)
    return faiss_index, LexicalIndex.build(chunks["text"].tolist(), rag.bm25.k1, rag.bm25.b)


def fit_query_adapter(
    pairs: pd.DataFrame, chunks: pd.DataFrame, vectors: pd.DataFrame, embedder: Embedder, params: dict
) -> QueryAdapter:
    """When the chat answers are indexed, a map on question vectors learned from their questions
    (`rag.query_adapter`; kept only if it beats no map on held-out pairs)."""
    rag = rag_settings(params)
    if not rag.sources.chat_answers:
        return QueryAdapter(None, None)
    adapter = query_adapter.fit_on_chunks(
        embedder, chunks["source_id"].tolist(), _matrix(vectors, chunks),
        pairs["question"].tolist(), pairs["answer_id"].tolist(), rag.query_adapter,
    )
    report = adapter.report
    log.info(
        "query adapter: %s (%d pairs%s)", report["adapter"] or "none", report["pairs"],
        f"; {report['reason']}" if report.get("reason") else "",
    )
    return adapter


def assemble_retriever(
    chunks: pd.DataFrame, faiss_index: faiss.Index, lexical: LexicalIndex, adapter: QueryAdapter, embedder: Embedder, params: dict
) -> Retriever:
    """The retriever the answer threshold is calibrated on: the indexes, the embedder and the adapter."""
    rag = rag_settings(params)
    return Retriever(
        checked_chunks(chunks), embedder, faiss_index, lexical, rag.index, rag.retrieval, adapter.matrix, adapter.report
    )


def calibrate_answer_threshold(retriever: Retriever, held_out: pd.DataFrame, params: dict) -> dict:
    """The answer threshold (`rag.answer.calibration`) on in-domain questions the embedder did not
    train on (`held_out`: the tuning would set the bar too high)."""
    report = calibrate_min_similarity(retriever, held_out["question"].tolist(), rag_settings(params).answer.calibration)
    log.info("answer threshold: %s", report)
    return report


def with_answer_threshold(retriever: Retriever, threshold: dict) -> Retriever:
    return retriever.replace(calibration=threshold)


def _matrix(vectors: pd.DataFrame, chunks: pd.DataFrame) -> np.ndarray:
    """The chunk vectors as one float32 matrix, refused unless they are the chunks', in order."""
    if vectors["chunk_id"].tolist() != chunks["chunk_id"].tolist():
        raise ValueError("rag_chunk_vectors do not match rag_chunks: re-run embed_rag_chunks")
    return np.vstack(vectors["vector"].to_numpy()).astype(np.float32, copy=False)
