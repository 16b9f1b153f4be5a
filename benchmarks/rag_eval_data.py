"""rag_eval.py's data: the held-out question -> passage pairs of both corpora and their dev,
test and train splits, the off-topic questions and the extra text for the latency sizes, and the
evaluation indexes over the passages (passage and query vectors cached under
data/benchmarks/rag_eval/; the e5_torch embedder fine-tuned on the train pairs, also cached).
"""
# ruff: noqa: E402  (OMP_WAIT_POLICY must be set before the OpenMP runtimes load)
from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import random
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

# The CPUs are shared: spinning OpenMP workers (the default) stall when another process holds a core.
# (rag_eval.py sets it too, before anything else; this covers importing this module on its own.)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd
import yaml

from domainforge.retrieval import Retriever
from domainforge.retrieval.chunking import chunk_texts
from domainforge.retrieval.embedders import load_embedder
from domainforge.retrieval.lexical import LexicalIndex
from domainforge.retrieval.retriever import chunks_table
from domainforge.retrieval.settings import RetrievalSettings, rag_settings
from domainforge.retrieval.vector_index import IndexSettings, build_index

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DOMAINFORGE_SHARED_DATA", ROOT.parent / "shared" / "data"))
CACHE = ROOT / "data" / "benchmarks" / "rag_eval"
CHUNKING = {"max_chars": 400, "overlap_chars": 60}
MEDQUAD_SOURCES = ["4_MPlus_Health_Topics_QA", "6_NINDS_QA"]
RAG = rag_settings(yaml.safe_load((ROOT / "conf/base/parameters_rag.yml").read_text(encoding="utf-8"))["rag"])
ADAPTER, TUNING = RAG.query_adapter, RAG.embedder_tuning
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


def truncate(passages, questions, n: int):
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



# ---- evaluation indexes (vectors cached) ----------------------------------------------------
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
