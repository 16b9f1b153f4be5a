"""BM25 (bm25s) over `text.tokenize` tokens, plus the corpus document frequencies that the English
keyword extractor weighs question words with."""
from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

from domainforge.rag.text import tokenize


class LexicalIndex:
    def __init__(self, bm25: bm25s.BM25, doc_freq: dict[str, int], n_docs: int):
        self._bm25 = bm25
        self.doc_freq = doc_freq
        self.n_docs = n_docs

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = 1.5, b: float = 0.75) -> LexicalIndex:
        token_lists = [tokenize(t) for t in texts]
        bm25 = bm25s.BM25(k1=k1, b=b)
        bm25.index(token_lists, show_progress=False)
        doc_freq = Counter(tok for tokens in token_lists for tok in set(tokens))
        return cls(bm25, dict(doc_freq), len(token_lists))

    def idf(self, token: str) -> float:
        """Smoothed idf; unseen words get the highest value (they are the most specific)."""
        return math.log((self.n_docs + 1) / (self.doc_freq.get(token, 0) + 1)) + 1.0

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(row ids, BM25 scores), best first; rows that share no token with the query are left out."""
        tokens = tokenize(query)
        k = min(k, self.n_docs)
        if not tokens or k == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        ids, scores = self._bm25.retrieve([tokens], k=k, show_progress=False, n_threads=1)
        keep = scores[0] > 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

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
