"""rag_eval.py's speed part: `Retriever.search` latency at 10k and 100k chunks (real evaluation
chunks topped up with real text and synthesised vectors), and FAISS approximate indexes (HNSW,
IVF) against the exact one, by neighbour overlap and end to end.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import replace

import numpy as np
import pandas as pd
from rag_eval_data import extra_texts
from rag_eval_grid import NO_ADAPTER, metrics, with_settings

from domainforge.retrieval import Retriever
from domainforge.retrieval.embedders import load_embedder
from domainforge.retrieval.lexical import LexicalIndex
from domainforge.retrieval.settings import RetrievalSettings
from domainforge.retrieval.vector_index import IndexSettings, build_index, vectors_of

log = logging.getLogger("rag_eval")


def scaled_retriever(base: dict[str, Retriever], n: int, settings: RetrievalSettings, embedder, index: IndexSettings, adapter):
    """A retriever of `n` chunks: all real evaluation chunks with their real vectors, topped up
    with real text whose vectors are synthesised (normalised mix of two real vectors plus noise)
    because embedding ~90k more chunks takes hours on this 2-core machine. IndexFlatIP's search
    cost does not depend on the vectors' values; BM25's depends on the real text."""
    frames, vectors = [], []
    for retriever in base.values():
        frames.append(retriever.chunks)
        vectors.append(vectors_of(retriever.index, np.arange(retriever.index.ntotal)))
    real = np.vstack(vectors)
    chunks = pd.concat(frames, ignore_index=True).iloc[:n]
    real = real[: len(chunks)]
    extra = n - len(chunks)
    if extra > 0:
        rng = np.random.default_rng(0)
        a, b = rng.integers(0, len(real), (2, extra))
        mixed = real[a] + real[b] + rng.normal(0, 0.02, (extra, real.shape[1])).astype(np.float32)
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        texts = extra_texts(extra)
        if len(texts) < extra:
            raise RuntimeError(f"only {len(texts)} extra real chunks for {extra} needed")
        ids = [f"extra#{i}" for i in range(extra)]
        chunks = pd.concat(
            [chunks, pd.DataFrame({"chunk_id": ids, "source_id": ids, "text": texts, "start": 0, "end": 0})],
            ignore_index=True,
        )
        real = np.vstack([real, mixed.astype(np.float32)])
    lexical = LexicalIndex.build(chunks["text"].tolist())
    return Retriever(chunks, embedder, build_index(real, index), lexical, index, settings, adapter), real


def latency(retriever: Retriever, questions: list[str], mode: str, k: int = 5) -> dict:
    """Wall-clock percentiles, and the CPU time the process spent (all its threads): on a CPU
    shared with other jobs the wall time includes waiting for a core, the CPU time does not."""
    for q in questions[:5]:  # warm-up: jieba dictionary, page cache
        retriever.search(q, k, mode=mode)
    wall, cpu = [], []
    for q in questions:
        started, started_cpu = time.perf_counter(), time.process_time()
        retriever.search(q, k, mode=mode)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return {**_percentiles(wall), "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 2)}


def _percentiles(times_ms: list[float]) -> dict:
    return {"p50_ms": round(float(np.percentile(times_ms, 50)), 2), "p95_ms": round(float(np.percentile(times_ms, 95)), 2), "n": len(times_ms)}


def embedding_latency(retriever: Retriever, questions: list[str]) -> dict:
    """The share of `latency` spent extracting keywords and embedding (the retriever's mode)."""
    times = []
    for q in questions:
        started = time.perf_counter()
        retriever.query_vectors(q)
        times.append((time.perf_counter() - started) * 1000)
    return _percentiles(times)


def approximate_vs_exact(vectors: np.ndarray, queries: np.ndarray, settings: IndexSettings, k: int = 10) -> tuple[dict, dict]:
    """Neighbour overlap and speed of HNSW and IVF against the exact index; also returns the
    approximate indexes built (an HNSW build over 100k vectors takes minutes)."""
    exact = build_index(vectors, replace(settings, kind="flat"))
    _, truth = exact.search(queries, k)
    out, indexes = {}, {}
    for kind in ("hnsw", "ivf"):
        started = time.perf_counter()
        approx = indexes[kind] = build_index(vectors, replace(settings, kind=kind))
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        _, found = approx.search(queries, k)
        per_query_ms = (time.perf_counter() - started) * 1000 / len(queries)
        overlap = np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth)])
        out[kind] = {f"recall@{k}_vs_exact": round(float(overlap), 4), "build_s": round(build_s, 1), "search_ms_per_query": round(per_query_ms, 3)}
    started = time.perf_counter()
    exact.search(queries, k)
    out["flat"] = {"search_ms_per_query": round((time.perf_counter() - started) * 1000 / len(queries), 3)}
    return out, indexes



# ---- the two speed sections of the report ---------------------------------------------------
def approximate_end_to_end(retrievers: dict[str, Retriever], test: dict[str, list], default: RetrievalSettings) -> dict:
    """Approximate vs exact on the real evaluation vectors, per language: neighbour overlap and
    speed, and test Recall@5 of the default settings with each index in place of the exact one."""
    out = {}
    for lang, retriever in retrievers.items():
        exact_r5 = metrics(retriever, test[lang], default.mode)["recall@5"]
        vectors = vectors_of(retriever.index, np.arange(retriever.index.ntotal))
        queries = np.stack([retriever.query_vectors(q)[1] for q, _ in test[lang]])
        row, approximate = approximate_vs_exact(vectors, queries, retriever.index_settings)
        flat = retriever.index
        for kind, index in approximate.items():
            retriever.index = index
            row[kind]["end_to_end_recall@5"] = metrics(retriever, test[lang], default.mode)["recall@5"]
        retriever.index = flat
        row["flat"]["end_to_end_recall@5"] = exact_r5
        out[lang] = row
    return out


def latency_by_size(
    retrievers: dict[str, Retriever], families: dict[str, RetrievalSettings], default_family: str,
    spec: dict, test: dict[str, list], sizes: tuple[int, ...], n_queries: int,
) -> dict:
    """Latency of every family (those with the query adapter) at each size, with an uncached
    embedder; at the largest size also approximate vs exact and the default on HNSW."""
    default = families[default_family]
    embedder = load_embedder(spec)
    questions = [q for lang in ("zh", "en") for q, _ in test[lang][: n_queries // 2]]
    random.Random(1).shuffle(questions)
    out = {}
    for n in sizes:
        retriever, vectors = scaled_retriever(retrievers, n, default, embedder, IndexSettings(), retrievers["zh"].query_adapter)
        row = {family: latency(with_settings(retriever, settings), questions, settings.mode) for family, settings in families.items() if family not in NO_ADAPTER}
        with_settings(retriever, default)
        row["default"] = row[default_family]
        row["default_query_embedding_only"] = embedding_latency(retriever, questions)
        row["real_vectors"] = min(n, int(sum(r.index.ntotal for r in retrievers.values())))
        row["embedder"] = embedder.spec
        if n == sizes[-1]:
            queries = np.stack([retriever.query_vectors(q)[1] for q in questions])
            row["approximate_vs_exact"], approximate = approximate_vs_exact(vectors, queries, IndexSettings())
            retriever.index = approximate["hnsw"]
            row["default_with_hnsw"] = latency(retriever, questions, default.mode)
        out[f"{n // 1000}k"] = row
        log.info("latency %s: %s", n, row)
    return out
