"""Retrieval settings as dataclasses built from the `rag:` parameters (unknown keys are errors,
so a typo in YAML cannot silently fall back to a default)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from domainforge.rag.fusion import METHODS as FUSION_METHODS

T = TypeVar("T")

MODES = ("bm25", "dense", "chatlaw", "hybrid")


def from_dict(cls: type[T], values: dict | T | None, where: str) -> T:
    if isinstance(values, cls):
        return values
    values = dict(values or {})
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}; expected some of {sorted(known)}")
    return cls(**values)


def skip_reason(pairs: int, settings) -> str | None:
    """Why nothing is trained from `pairs` question -> answer pairs under `settings` (query
    adapter or embedder tuning: `enabled`, `min_pairs`); None: something is."""
    if not settings.enabled:
        return "disabled"
    if pairs < settings.min_pairs:
        return f"{pairs} pairs < min_pairs {settings.min_pairs}"
    return None


# Defaults: the best dev settings of benchmarks/rag_eval.py (conf/base/parameters_rag.yml repeats them).
@dataclass
class KeywordSettings:
    top_k: int = 5  # keywords per question; 0 turns ChatLaw-style expansion off
    weight: float = 0.1  # total weight of the keyword vectors added to the question vector
    chinese_method: str = "tfidf"  # jieba tfidf | textrank


@dataclass
class FusionSettings:
    keywords: bool = False  # hybrid fuses BM25 with the chatlaw vector (true) or the plain question vector
    method: str = "score"  # score (min-max normalised scores, weighted sum) | rrf (reciprocal rank)
    rrf_k: int = 60  # reciprocal-rank-fusion constant (method rrf)
    dense_weight: float = 0.7
    bm25_weight: float = 0.3
    depth: int = 50  # candidates taken from each ranker before fusing

    def __post_init__(self):
        if self.method not in FUSION_METHODS:
            raise ValueError(f"fusion method {self.method!r} is not one of {FUSION_METHODS}")


@dataclass
class RetrievalSettings:
    mode: str = "hybrid"  # bm25 | dense | chatlaw (keywords + question) | hybrid (dense or chatlaw + BM25)
    keywords: KeywordSettings = field(default_factory=KeywordSettings)
    fusion: FusionSettings = field(default_factory=FusionSettings)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"retrieval mode {self.mode!r} is not one of {MODES}")

    @classmethod
    def from_dict(cls, values: dict | RetrievalSettings | None) -> RetrievalSettings:
        if isinstance(values, cls):
            return values
        values = dict(values or {})
        keywords = from_dict(KeywordSettings, values.pop("keywords", None), "rag.retrieval.keywords")
        fusion = from_dict(FusionSettings, values.pop("fusion", None), "rag.retrieval.fusion")
        return from_dict(cls, {**values, "keywords": keywords, "fusion": fusion}, "rag.retrieval")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
