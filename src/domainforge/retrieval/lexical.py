"""BM25 (bm25s) over `text.tokenize` tokens, plus the corpus document frequencies that the English
keyword extractor weighs question words with.

bm25s precomputes every (token, document) score at indexing time; a query sums the score columns
of its tokens. `scores` does that sum itself: bm25s' `retrieve` starts a thread pool and a
progress bar per call and sums with the slow unbuffered `np.add.at`, which together cost more
than the arithmetic for one query."""
from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

from domainforge import progress
from domainforge.retrieval.settings import Bm25Settings
from domainforge.retrieval.text import tokenize


class LexicalIndex:
    def __init__(self, bm25: bm25s.BM25, doc_freq: dict[str, int], n_docs: int):
        self._bm25 = bm25
        self.doc_freq = doc_freq
        self.n_docs = n_docs

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = Bm25Settings.k1, b: float = Bm25Settings.b) -> LexicalIndex:
        token_lists = [tokenize(t) for t in progress.bar(texts, total=len(texts), desc="BM25 tokenise", unit="chunk")]
        bm25 = bm25s.BM25(k1=k1, b=b)
        bm25.index(token_lists, show_progress=progress.enabled())
        doc_freq = Counter(tok for tokens in token_lists for tok in set(tokens))
        return cls(bm25, dict(doc_freq), len(token_lists))

    def idf(self, token: str) -> float:
        """Smoothed idf; unseen words get the highest value (they are the most specific)."""
        return math.log((self.n_docs + 1) / (self.doc_freq.get(token, 0) + 1)) + 1.0

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for `query` (bm25s' Lucene variant; a repeated query token counts
        each time, as in bm25s)."""
        matrix = self._bm25.scores
        data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        vocab = self._bm25.vocab_dict
        out = np.zeros(self.n_docs, dtype=np.float32)
        for token in tokenize(query):
            column = vocab.get(token)
            if column is not None:
                start, end = indptr[column], indptr[column + 1]
                # A token's posting list holds each document once, so fancy-index addition is exact.
                out[indices[start:end]] += data[start:end]
        return out

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(row ids, BM25 scores), best first; rows that share no token with the query are left out."""
        return top_k(self.scores(query), k)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._bm25.save(str(folder), show_progress=False)
        (folder / "doc_freq.json").write_text(
            json.dumps({"n_docs": self.n_docs, "doc_freq": self.doc_freq}, ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> LexicalIndex:
        if not (folder / "doc_freq.json").is_file():
            raise FileNotFoundError(f"BM25 index {folder} is incomplete (no doc_freq.json)")
        bm25 = bm25s.BM25.load(str(folder), mmap=mmap, show_progress=False)
        stats = json.loads((folder / "doc_freq.json").read_text(encoding="utf-8"))
        return cls(bm25, stats["doc_freq"], stats["n_docs"])


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(row ids, scores) of the `k` highest positive scores, best first (ties by row id)."""
    k = min(k, int(np.count_nonzero(scores > 0)))
    if k == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    rows = np.argpartition(-scores, k - 1)[:k]
    rows = rows[np.lexsort((rows, -scores[rows]))]
    return rows.astype(np.int64), scores[rows]
