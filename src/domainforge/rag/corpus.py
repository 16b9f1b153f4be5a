"""Node functions of the `rag` pipeline: what to index, chunks, the fine-tuned embedder, and the retriever."""
from __future__ import annotations

import logging
from dataclasses import asdict

import pandas as pd

from domainforge.data.records import drop_rows, drops_table
from domainforge.rag import embedder_tuning as tuning
from domainforge.rag.chunking import chunk_texts
from domainforge.rag.embedder_tuning import TunedEmbedder, TuningSettings, split_pairs
from domainforge.rag.embedders import TorchE5Embedder
from domainforge.rag.retriever import Retriever, chunks_table
from domainforge.rag.settings import from_dict

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


def question_answer_pairs(chats: pd.DataFrame, corpus: str) -> tuple[list[str], list[str], list[str]]:
    """(user turn, passage id `<chat id>/<turn>` of the assistant turn answering it, that answer's
    text) for every answered question of the `corpus` chats."""
    questions, answer_ids, answers = [], [], []
    for chat_id, chat_corpus, messages in chats[["id", "corpus", "messages"]].itertuples(index=False):
        if chat_corpus != corpus:
            continue
        for turn in range(1, len(messages)):
            if messages[turn]["role"] == "assistant" and messages[turn - 1]["role"] == "user":
                questions.append(messages[turn - 1]["content"])
                answer_ids.append(f"{chat_id}/{turn}")
                answers.append(messages[turn]["content"])
    return questions, answer_ids, answers


def tune_embedder(chats: pd.DataFrame, params: dict) -> TunedEmbedder:
    """Fine-tune the e5_torch embedder on the domain chats' question -> answer pairs
    (`rag.embedder_tuning`; kept only if it beats the untuned model on held-out pairs)."""
    settings = from_dict(TuningSettings, params["embedder_tuning"], "rag.embedder_tuning")
    spec = params["embedder"]
    questions, answer_ids, answers = question_answer_pairs(chats, params["sources"]["corpus"])
    if spec["kind"] != "e5_torch":
        reason = f"embedder kind {spec['kind']!r} is not fine-tunable (only e5_torch)"
        log.info("embedder tuning skipped: %s", reason)
        return TunedEmbedder(None, {"pairs": len(questions), "settings": asdict(settings), "tuned": False, "reason": reason})
    weights, report = tuning.tune_embedder(
        lambda: TorchE5Embedder(**{k: v for k, v in spec.items() if k != "kind"})._model,  # a fresh copy to train
        questions, answers, answer_ids, settings,
    )
    log.info("embedder tuning: %s", "kept" if weights is not None else report.get("reason"))
    return TunedEmbedder(weights, report)


def build_retriever(chunks: pd.DataFrame, chats: pd.DataFrame, tuned: TunedEmbedder, params: dict) -> Retriever:
    """Embed (with the fine-tuned embedder when tuning kept one) and index the chunks; when the
    domain's chat answers are indexed, learn a query adapter from their questions
    (`rag.query_adapter`; kept only if it beats no adapter on held-out pairs). Then calibrate the
    answer threshold on in-domain questions the embedder did not train on."""
    spec = params["embedder"]
    embedder = spec
    if tuned.weights is not None:
        embedder = TorchE5Embedder(**{k: v for k, v in spec.items() if k not in ("kind", "weights")}, tuned_weights=tuned.weights)
    retriever = Retriever.from_chunks(
        chunks,
        embedder=embedder,
        index=params["index"],
        retrieval=params["retrieval"],
        bm25=params["bm25"],
    )
    questions, answer_ids, _ = question_answer_pairs(chats, params["sources"]["corpus"])
    if params["sources"].get("chat_answers", True):
        report = retriever.fit_query_adapter(questions, answer_ids, params["query_adapter"])
        log.info(
            "query adapter: %s (%d pairs%s)", report["adapter"] or "none", report["pairs"],
            f"; {report['reason']}" if report.get("reason") else "",
        )
    if tuned.weights is not None:  # questions the tuning trained on would set the bar too high
        held = split_pairs(answer_ids, from_dict(TuningSettings, tuned.report["settings"], "embedder tuning report"))[1]
        questions = [questions[i] for i in held]
    calibration = retriever.calibrate_min_similarity(questions, **params["answer"]["calibration"])
    log.info("answer threshold: %s", calibration)
    return retriever
