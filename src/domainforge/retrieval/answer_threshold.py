"""The answer threshold of an index: the question-chunk similarity below which a reference is not
relevant, calibrated on in-domain questions (`answer.min_similarity: auto` uses it)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import numpy as np

from domainforge.retrieval.retriever import Retriever
from domainforge.retrieval.settings import CalibrationSettings
from domainforge.typed_settings import from_params


def best_similarity(retriever: Retriever, question: str, k: int = CalibrationSettings.k) -> float:
    """The highest question-chunk similarity among the question's `k` hits (what the answer
    threshold is compared with); -1 without hits."""
    return max((h.similarity for h in retriever.search(question, k)), default=-1.0)


def calibrate_min_similarity(
    retriever: Retriever, questions: Sequence[str], settings: CalibrationSettings | None = None, **overrides
) -> dict:
    """The threshold report for `retriever`: `min_similarity` is the `percentile` of the best
    similarity among each in-domain question's `k` hits (up to `max_questions` questions,
    sampled), so that about that share of in-domain questions would be refused; None (the
    configured fallback applies) with fewer than `min_questions`. Saved with the index as
    `Retriever(calibration=...)`. Settings: `rag.answer.calibration` (CalibrationSettings, whose
    keys `overrides` may also name)."""
    settings = from_params(CalibrationSettings, {**asdict(settings or CalibrationSettings()), **overrides}, "rag.answer.calibration")
    k, percentile, seed = settings.k, settings.percentile, settings.seed
    min_questions, max_questions = settings.min_questions, settings.max_questions
    questions = [q for q in questions if isinstance(q, str) and q.strip()]
    if len(questions) > max_questions:
        picked = np.random.default_rng(seed).choice(len(questions), max_questions, replace=False)
        questions = [questions[i] for i in sorted(picked)]
    report = {"questions": len(questions), "k": k, "percentile": percentile, "min_similarity": None}
    if retriever.settings.mode == "bm25":
        report["reason"] = "bm25 mode: hits have no similarity"
    elif len(questions) < min_questions:
        report["reason"] = f"{len(questions)} questions < min_questions {min_questions}"
    else:
        best = [best_similarity(retriever, q, k) for q in questions]
        report["min_similarity"] = round(float(np.percentile(best, percentile)), 3)
    return report
