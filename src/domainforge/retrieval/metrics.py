"""Retrieval metrics: one definition of recall@k for the tuning nodes (query adapter, embedder)
and benchmarks/rag_eval.py, so a number in a node's report means what it means in the benchmark."""
from __future__ import annotations

from collections.abc import Container, Iterable, Sequence


def first_relevant_rank(ranked: Iterable, relevant: Container, depth: int) -> int | None:
    """1-based rank of the first relevant item among the first `depth` distinct items of `ranked`
    (several chunks of one source count once), or None when none is that high."""
    for rank, item in enumerate(dict.fromkeys(ranked), 1):
        if rank > depth:
            break
        if item in relevant:
            return rank
    return None


def hit_at_k(rank: int | None, k: int) -> bool:
    """Whether a question's first relevant result (`first_relevant_rank`) is within the top k."""
    return rank is not None and rank <= k


def recall_at_k(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions with a hit at k (0 for no questions)."""
    return sum(hit_at_k(r, k) for r in ranks) / max(1, len(ranks))
