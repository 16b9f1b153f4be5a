"""rag_eval.py's grid: the quality metrics of a retriever on questions, the search over keyword
and fusion settings on the dev split (each retrieval family's best settings, and the default
family), the paired comparisons (query adapter, embedder tuning) and the answerability threshold.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np
from rag_eval_data import off_topic_questions

from domainforge.retrieval import Retriever, answer_threshold
from domainforge.retrieval.metrics import first_relevant_rank, hit_at_k, recall_at_k
from domainforge.retrieval.settings import FusionSettings, KeywordSettings, RetrievalSettings

DEPTH = 30  # chunks fetched per question; collapsed to distinct passages for the metrics
log = logging.getLogger("rag_eval")


# ---- quality metrics ------------------------------------------------------------------------
def ranks(retriever: Retriever, questions, mode: str) -> list[int | None]:
    """Rank (1-10) of the first relevant distinct passage per question; None below 10."""
    out = []
    for question, relevant in questions:
        out.append(first_relevant_rank((h.source_id for h in retriever.search(question, DEPTH, mode=mode)), relevant, 10))
    return out


def metrics(retriever: Retriever, questions, mode: str) -> dict:
    return summary(ranks(retriever, questions, mode))


def summary(ranks: list[int | None]) -> dict:
    out = {f"recall@{k}": round(recall_at_k(ranks, k), 4) for k in (1, 5, 10)}
    out["mrr@10"] = _mean([1 / r if r else 0.0 for r in ranks])
    return out


def _mean(values) -> float:
    return round(float(np.mean(values)), 4) if len(values) else float("nan")


def with_settings(retriever: Retriever, settings: RetrievalSettings) -> Retriever:
    retriever.settings = settings
    return retriever


# ---- choosing the configuration on dev ------------------------------------------------------
# What the test split reports: each retrieval family with its best dev settings.
FAMILIES = ("bm25", "dense", "chatlaw", "hybrid (chatlaw + bm25)", "hybrid (dense + bm25)")


def tune(retrievers: dict[str, Retriever], dev: dict[str, list]) -> tuple[dict[str, RetrievalSettings], str, list[dict]]:
    """Grid over keyword and fusion settings on dev. Returns each family's best settings, the
    default family (`choose_default`) and the grid."""
    rows: dict[str, list[dict]] = {family: [] for family in FAMILIES}
    for mode in ("bm25", "dense"):
        rows[mode].append(_score(retrievers, dev, RetrievalSettings(mode)))
    for top_k in (3, 5):
        for weight in (0.05, 0.1, 0.2, 0.3):  # 0.5 and 1.0 were below these on earlier dev runs
            for method in ("tfidf", "textrank"):
                rows["chatlaw"].append(_score(retrievers, dev, RetrievalSettings("chatlaw", KeywordSettings(top_k, weight, method))))
    keywords = KeywordSettings(**max(rows["chatlaw"], key=_rank_key)["settings"]["keywords"])
    for use_keywords, family in ((True, "hybrid (chatlaw + bm25)"), (False, "hybrid (dense + bm25)")):
        fusions = [
            FusionSettings(use_keywords, "rrf", rrf_k, dense_weight=1.0, bm25_weight=bm25_weight, depth=50)
            for bm25_weight in (0.25, 0.5, 1.0)
            for rrf_k in (10, 60)
        ] + score_fusions(use_keywords)
        for fusion in fusions:
            rows[family].append(_score(retrievers, dev, RetrievalSettings("hybrid", keywords, fusion)))
    best = {family: max(family_rows, key=_rank_key) for family, family_rows in rows.items()}
    default = choose_default(best)
    settings = {family: RetrievalSettings.from_dict(row["settings"]) for family, row in best.items()}
    return settings, default, [row for family_rows in rows.values() for row in family_rows]


# Keyword families embed top_k keywords besides the question: about twice the query time.
KEYWORD_FAMILIES = ("chatlaw", "hybrid (chatlaw + bm25)")
KEYWORD_MIN_GAIN = 0.01  # zh dev Recall@5 a keyword family must gain to be worth that (10 of 1,000 questions)


def choose_default(best: dict[str, dict]) -> str:
    """The best family on Chinese dev Recall@5 (ties by MRR@10, then English Recall@5); a keyword
    family only if it beats the best plain-question family by more than KEYWORD_MIN_GAIN, since
    it doubles the query time (smaller differences are within dev noise)."""
    plain = max((f for f in FAMILIES if f not in KEYWORD_FAMILIES), key=lambda f: _rank_key(best[f]))
    keyword = max(KEYWORD_FAMILIES, key=lambda f: _rank_key(best[f]))
    gain = best[keyword]["zh"]["recall@5"] - best[plain]["zh"]["recall@5"]
    return keyword if gain > KEYWORD_MIN_GAIN else plain


def score_fusions(use_keywords: bool) -> list[FusionSettings]:
    """The normalised-score fusion grid: BM25 weight 0.2-0.5 (dense the rest), depth 50 or 100."""
    return [
        FusionSettings(use_keywords, "score", dense_weight=round(1 - bm25_weight, 2), bm25_weight=bm25_weight, depth=depth)
        for bm25_weight in (0.2, 0.3, 0.4, 0.5)
        for depth in (50, 100)
    ]


DENSE_FAMILIES = ("dense", "hybrid (dense + bm25)")  # the ones compared without adapter / tuning
NO_ADAPTER = tuple(f"{family}, no query adapter" for family in DENSE_FAMILIES)


@contextmanager
def adapters_removed(retrievers: Iterable[Retriever]) -> Iterator[None]:
    """The block runs with the retrievers' query adapters taken out; they are put back after."""
    saved = [(retriever, retriever.query_adapter) for retriever in retrievers]
    for retriever, _ in saved:
        retriever.query_adapter = None
    try:
        yield
    finally:
        for retriever, adapter in saved:
            retriever.query_adapter = adapter


def tune_dense_families(retrievers: dict[str, Retriever], dev: dict[str, list], variant: str) -> dict[str, RetrievalSettings]:
    """Best dev settings of the dense and dense + BM25 families on `retrievers`, named
    "<family>, <variant>" (the comparisons: without the query adapter, with the untuned embedder)."""
    hybrid = [_score(retrievers, dev, RetrievalSettings("hybrid", fusion=fusion)) for fusion in score_fusions(False)]
    dense, fused = (f"{family}, {variant}" for family in DENSE_FAMILIES)
    best = {dense: _score(retrievers, dev, RetrievalSettings("dense")), fused: max(hybrid, key=_rank_key)}
    return {family: RetrievalSettings.from_dict(row["settings"]) for family, row in best.items()}


def tune_without_adapter(retrievers: dict[str, Retriever], dev: dict[str, list]) -> dict[str, RetrievalSettings]:
    """What the adapter adds: the dense families with the query adapters removed."""
    with adapters_removed(retrievers.values()):
        return tune_dense_families(retrievers, dev, "no query adapter")


UNTUNED = "untuned embedder"


def family_ranks(retriever: Retriever, questions, family: str, settings: RetrievalSettings) -> list[int | None]:
    with adapters_removed([retriever] if family in NO_ADAPTER else []):
        return ranks(with_settings(retriever, settings), questions, settings.mode)


def paired(with_adapter: list[int | None], without: list[int | None], k: int = 5) -> dict:
    """Questions whose Recall@k a change (query adapter, embedder tuning) moves: gained (found only
    with it) and lost."""
    hit_with = [hit_at_k(r, k) for r in with_adapter]
    hit_without = [hit_at_k(r, k) for r in without]
    return {
        "gained": sum(a and not b for a, b in zip(hit_with, hit_without)),
        "lost": sum(b and not a for a, b in zip(hit_with, hit_without)),
        "questions": len(hit_with),
    }


def _score(retrievers, dev, settings: RetrievalSettings) -> dict:
    row = {"settings": settings.to_dict()}
    for lang, retriever in retrievers.items():
        row[lang] = metrics(with_settings(retriever, settings), dev[lang], settings.mode)
    log.info("dev %s", json.dumps(row, ensure_ascii=False))
    return row


def _rank_key(row):
    return (row["zh"]["recall@5"], row["zh"]["mrr@10"], row["en"]["recall@5"])

# ---- answerability threshold ----------------------------------------------------------------
def best_similarity(retriever: Retriever, questions: list[str]) -> np.ndarray:
    return np.array([answer_threshold.best_similarity(retriever, q, 5) for q in questions])



def calibrate_threshold(retrievers, dev, test) -> dict:
    """Threshold = 5th percentile of the best similarity of dev in-domain questions (both
    languages); reported: share of test in-domain questions kept and off-topic ones refused."""
    off = off_topic_questions()
    dev_best = np.concatenate([best_similarity(retrievers[lang], [q for q, _ in dev[lang]]) for lang in retrievers])
    threshold = float(np.round(np.percentile(dev_best, 5), 3))
    out = {"min_similarity": threshold, "rule": "5th percentile of dev in-domain best similarity"}
    for lang, retriever in retrievers.items():
        inside = best_similarity(retriever, [q for q, _ in test[lang]])
        outside = best_similarity(retriever, off[lang])
        out[lang] = {
            "in_domain_answered": _mean(inside >= threshold),
            "off_topic_refused": _mean(outside < threshold),
            "in_domain_best_similarity_p50": round(float(np.median(inside)), 4),
            "off_topic_best_similarity_p50": round(float(np.median(outside)), 4),
            "n_off_topic": len(outside),
        }
    return out

