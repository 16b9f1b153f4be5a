"""Fusing the dense and BM25 rankings of one query into one ranking.

  rrf    weighted reciprocal rank fusion, sum of w / (rrf_k + rank) (MedicalGPT chatpdf-style)
  score  weighted sum of each ranker's scores min-max normalised over its own candidate list
         (best = 1, its deepest candidate = 0); a row missing from a list gets 0 from it, since
         its score there is at most that list's minimum. Unlike ranks, this keeps how far apart
         the candidates are: a clear BM25 winner outweighs a dense near-tie.

Each list is (row ids, scores), best first. Returns (row ids, fused scores), best first; ties keep
the order in which rows were first seen (dense list first).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

METHODS = ("rrf", "score")


def fuse(
    ranked: Sequence[tuple[np.ndarray, np.ndarray]], weights: Sequence[float], method: str, rrf_k: int = 60
) -> tuple[np.ndarray, np.ndarray]:
    if method not in METHODS:
        raise ValueError(f"unknown fusion method {method!r}; expected one of {METHODS}")
    fused: dict[int, float] = {}
    for (ids, scores), weight in zip(ranked, weights):
        if len(ids) == 0:
            continue
        if method == "rrf":
            contribution = weight / (rrf_k + np.arange(1, len(ids) + 1))
        else:
            scores = np.asarray(scores, dtype=np.float64)
            low, high = scores.min(), scores.max()
            normalised = (scores - low) / (high - low) if high > low else np.ones_like(scores)
            contribution = weight * normalised
        for row, value in zip(ids.tolist(), contribution.tolist()):
            fused[row] = fused.get(row, 0.0) + value
    order = sorted(fused.items(), key=lambda item: -item[1])
    return np.array([r for r, _ in order], dtype=np.int64), np.array([s for _, s in order], dtype=np.float32)
