"""The retriever: loads a saved index and searches it (built by `build` or the rag pipeline's
nodes). Chunks + FAISS vectors + BM25, searched four ways:

  bm25     lexical only
  dense    the question's embedding
  chatlaw  ChatLaw-style: question vector + weight * (keyword vectors weighted by keyword score),
           re-normalised
  hybrid   the chatlaw (fusion.keywords) or plain question vector's ranking and BM25's, fused by
           normalised score or by reciprocal rank (fusion.method, see `fusion`)

With a query adapter (see tuning.query_adapter) the vectors searched with are the adapted ones;
`Hit.similarity` stays the plain question-chunk cosine, so thresholds on it hold.

Saved as a folder: config.json, chunks.parquet, vectors.faiss, bm25/ [, query_adapter.npy]
[, embedder_weights.npz: a fine-tuned embedder's tensors, see tuning.embedder_tuning].
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from domainforge.atomic_dir import readable
from domainforge.retrieval import vector_index
from domainforge.retrieval.chunking import Chunk
from domainforge.retrieval.embedders import Embedder, load_embedder
from domainforge.retrieval.embedders.tuned_weights import save_weights
from domainforge.retrieval.fusion import fuse
from domainforge.retrieval.keywords import extract_keywords
from domainforge.retrieval.lexical import LexicalIndex
from domainforge.retrieval.settings import MODES, IndexSettings, RetrievalSettings
from domainforge.typed_settings import from_params

FORMAT_VERSION = 1
CHUNK_COLUMNS = ["chunk_id", "source_id", "text", "start", "end"]
EMBEDDER_WEIGHTS = "embedder_weights.npz"


def adapt(vectors: np.ndarray, matrix: np.ndarray | None) -> np.ndarray:
    """normalise(W q) for every row q: the query adapter's map (vectors unchanged without one)."""
    if matrix is None:
        return vectors
    mapped = vectors @ matrix.T
    return (mapped / np.linalg.norm(mapped, axis=-1, keepdims=True)).astype(np.float32)


@dataclass(frozen=True)
class Hit:
    text: str
    source_id: str
    score: float  # the ranking score of the mode used (cosine, BM25 or fused)
    similarity: float  # cosine(question embedding, chunk); NaN in bm25 mode
    chunk_id: str


class Retriever:
    def __init__(
        self,
        chunks: pd.DataFrame,
        embedder: Embedder,
        index,
        lexical: LexicalIndex,
        index_settings: IndexSettings,
        retrieval: RetrievalSettings,
        query_adapter: np.ndarray | None = None,
        query_adapter_report: dict | None = None,
        calibration: dict | None = None,
    ):
        missing = set(CHUNK_COLUMNS) - set(chunks.columns)
        if missing:
            raise ValueError(f"chunk table lacks columns {sorted(missing)}")
        if not (len(chunks) == index.ntotal == lexical.n_docs):
            raise ValueError(
                f"inconsistent index: {len(chunks)} chunks, {index.ntotal} vectors, {lexical.n_docs} BM25 rows"
            )
        self.chunks = chunks.reset_index(drop=True)
        self.embedder = embedder
        self.index = index
        self.lexical = lexical
        self.index_settings = index_settings
        self.settings = retrieval
        self._texts = self.chunks["text"].tolist()
        self._sources = self.chunks["source_id"].tolist()
        self._chunk_ids = self.chunks["chunk_id"].tolist()
        if query_adapter is not None and query_adapter.shape != (index.d, index.d):
            raise ValueError(f"query adapter of shape {query_adapter.shape} for {index.d}-d vectors")
        self.query_adapter = query_adapter
        self.query_adapter_report = query_adapter_report
        self.calibration = calibration  # the answer threshold learned on in-domain questions (answer_threshold)

    def replace(self, **changes) -> Retriever:
        """A copy with some constructor arguments changed; chunks, indexes and embedder are shared."""
        current = {
            "chunks": self.chunks,
            "embedder": self.embedder,
            "index": self.index,
            "lexical": self.lexical,
            "index_settings": self.index_settings,
            "retrieval": self.settings,
            "query_adapter": self.query_adapter,
            "query_adapter_report": self.query_adapter_report,
            "calibration": self.calibration,
        }
        return Retriever(**{**current, **changes})

    @property
    def min_similarity(self) -> float | None:
        """The calibrated answer threshold (None when not calibrated)."""
        return (self.calibration or {}).get("min_similarity")

    # ---- searching ------------------------------------------------------------------------
    def search(self, query: str, k: int = 5, mode: str | None = None) -> list[Hit]:
        mode = mode or self.settings.mode
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; expected one of {MODES}")
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if mode == "bm25":
            ids, scores = self.lexical.search(query, k)
            return self._hits(ids, scores, np.full(len(ids), np.nan))
        question, vector = self.query_vectors(query, mode)
        depth = max(k, self.settings.fusion.depth) if mode == "hybrid" else k
        scores, ids = self.index.search(vector[None, :], min(depth, self.index.ntotal))
        keep = ids[0] >= 0
        ids, scores = ids[0][keep], scores[0][keep]
        if mode == "hybrid":
            fusion = self.settings.fusion
            ids, scores = fuse(
                [(ids, scores), self.lexical.search(query, depth)],
                (fusion.dense_weight, fusion.bm25_weight),
                fusion.method,
                fusion.rrf_k,
            )
            ids, scores = ids[:k], scores[:k]
        similarity = vector_index.vectors_of(self.index, ids) @ question
        return self._hits(ids, scores, similarity)

    def query_vectors(self, query: str, mode: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(question embedding, the vector `mode` searches with: adapted, with keywords for
        chatlaw). Question and keywords are embedded in one call."""
        mode = mode or self.settings.mode
        kw = self.settings.keywords
        use_keywords = mode == "chatlaw" or (mode == "hybrid" and self.settings.fusion.keywords)
        keywords = (
            extract_keywords(query, self.lexical.idf, kw.top_k, kw.chinese_method)
            if use_keywords and kw.weight > 0
            else []
        )
        plain = self.embedder.embed_queries([query, *[w for w, _ in keywords]])
        vectors = adapt(plain, self.query_adapter)
        if not keywords:
            return plain[0], vectors[0]
        weights = np.array([s for _, s in keywords], dtype=np.float32)
        combined = vectors[0] + kw.weight * (weights @ vectors[1:])
        return plain[0], (combined / np.linalg.norm(combined)).astype(np.float32)

    def _hits(self, ids: np.ndarray, scores: np.ndarray, similarity: np.ndarray) -> list[Hit]:
        return [
            Hit(self._texts[i], self._sources[i], float(s), float(sim), self._chunk_ids[i])
            for i, s, sim in zip(ids.tolist(), scores.tolist(), similarity.tolist())
        ]

    # ---- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.chunks[CHUNK_COLUMNS].to_parquet(folder / "chunks.parquet", index=False)
        vector_index.save_index(self.index, folder / "vectors.faiss")
        self.lexical.save(folder / "bm25")
        config = {
            "format_version": FORMAT_VERSION,
            "embedder": self._save_embedder_weights(folder),
            "dim": int(self.index.d),
            "n_chunks": len(self.chunks),
            "index_kind": self.index_settings.resolved_kind(len(self.chunks)),
            "index": self.index_settings.to_dict(),
            "retrieval": self.settings.to_dict(),
            "query_adapter": self.query_adapter_report,
            "answer_threshold": self.calibration,
        }
        adapter_file = folder / "query_adapter.npy"
        if self.query_adapter is not None:
            np.save(adapter_file, self.query_adapter)
        elif adapter_file.exists():
            adapter_file.unlink()  # an index re-saved without its adapter must not pick up the old one
        (folder / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")

    def _save_embedder_weights(self, folder: Path) -> dict:
        """The embedder spec to save; a fine-tuned embedder's tensors are written beside the index
        (the spec names the file relative to the folder, so the folder can move)."""
        spec, tuned = dict(self.embedder.spec), getattr(self.embedder, "tuned_weights", None)
        target = folder / EMBEDDER_WEIGHTS
        if tuned is None:
            target.unlink(missing_ok=True)
            return spec
        if spec.get("weights") is None or Path(spec["weights"]).resolve() != target.resolve():
            save_weights(target, tuned)
        return {**spec, "weights": EMBEDDER_WEIGHTS}

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        mmap: bool = True,
        embedder: Embedder | None = None,
        retrieval: RetrievalSettings | dict | None = None,
    ) -> Retriever:
        """Load a saved retriever; `retrieval` overrides the saved search settings, `embedder` the
        saved embedder spec (it must produce vectors of the same model). An index whose
        replacement was interrupted is read from the version set aside (`atomic_dir.readable`)."""
        folder = readable(path)
        config_file = folder / "config.json"
        if not config_file.is_file():
            raise FileNotFoundError(f"{folder} is not a saved retriever (no config.json)")
        config = json.loads(config_file.read_text(encoding="utf-8"))
        if config.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{config_file}: format_version {config.get('format_version')} != {FORMAT_VERSION}")
        index_settings = from_params(IndexSettings, config["index"], f"{config_file} index")
        faiss_index = vector_index.load_index(folder / "vectors.faiss", config["index_kind"], index_settings, mmap)
        spec = dict(config["embedder"])
        if spec.get("weights") and not Path(spec["weights"]).is_absolute():
            spec["weights"] = str(folder / spec["weights"])
        embedder = embedder or load_embedder(spec)
        if embedder.dim != config["dim"]:
            raise ValueError(f"embedder gives {embedder.dim}-d vectors, index {folder} holds {config['dim']}-d")
        return cls(
            pd.read_parquet(folder / "chunks.parquet"),
            embedder,
            faiss_index,
            LexicalIndex.load(folder / "bm25", mmap=mmap),
            index_settings,
            RetrievalSettings.from_dict(retrieval if retrieval is not None else _saved_retrieval(config["retrieval"])),
            np.load(folder / "query_adapter.npy") if (folder / "query_adapter.npy").is_file() else None,
            config.get("query_adapter"),
            config.get("answer_threshold"),
        )


def _saved_retrieval(saved: dict) -> dict:
    """Indexes saved before fusion had a `method` fused by reciprocal rank: keep that."""
    fusion = saved.get("fusion")
    if isinstance(fusion, dict) and "method" not in fusion:
        return {**saved, "fusion": {**fusion, "method": "rrf"}}
    return saved


def chunks_table(chunks: Sequence[Chunk] | pd.DataFrame) -> pd.DataFrame:
    if isinstance(chunks, pd.DataFrame):
        return chunks.reset_index(drop=True)
    rows = [
        {"chunk_id": c.chunk_id, "source_id": c.source_id, "text": c.text, "start": c.start, "end": c.end}
        for c in chunks
    ]
    return pd.DataFrame(rows, columns=CHUNK_COLUMNS)
