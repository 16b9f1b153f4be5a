"""Question keywords for ChatLaw-style retrieval: jieba TF-IDF or TextRank for Chinese, TF-IDF
against the indexed corpus for English. Weights are normalised to sum to 1."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from domainforge.retrieval.text import CHINESE_STOPWORDS, has_chinese, latin_words, load_jieba, stem


def chinese_keywords(question: str, top_k: int, method: str = "tfidf") -> list[tuple[str, float]]:
    import jieba.analyse

    load_jieba()
    extract = {"tfidf": jieba.analyse.extract_tags, "textrank": jieba.analyse.textrank}.get(method)
    if extract is None:
        raise ValueError(f"unknown Chinese keyword method {method!r}; expected tfidf or textrank")
    # Ask for extra candidates: jieba's own stopword list misses the politeness formulae.
    found = extract(question, topK=top_k * 2, withWeight=True)
    return [(w, s) for w, s in found if w not in CHINESE_STOPWORDS and w.strip()][:top_k]


def english_keywords(question: str, top_k: int, idf: Callable[[str], float]) -> list[tuple[str, float]]:
    """Question words by term frequency x corpus idf (idf looked up on the stem the BM25 index uses)."""
    counts = Counter(latin_words(question))
    scored = sorted(((w, n * idf(stem(w))) for w, n in counts.items()), key=lambda x: -x[1])
    return scored[:top_k]


def extract_keywords(
    question: str, idf: Callable[[str], float], top_k: int = 5, chinese_method: str = "tfidf"
) -> list[tuple[str, float]]:
    if top_k <= 0:
        return []
    found = chinese_keywords(question, top_k, chinese_method) if has_chinese(question) else []
    if not found:
        found = english_keywords(question, top_k, idf)
    total = sum(s for _, s in found)
    return [(w, s / total) for w, s in found] if total > 0 else []
