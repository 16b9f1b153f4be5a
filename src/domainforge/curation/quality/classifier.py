"""A fastText quality classifier trained inside the pipeline, and the filter that uses it.

Training examples: `positive` documents (by corpus and, optionally, source glob) are text we
want, labelled `keep`; `negative` documents, synthetic junk built from the positives' own
vocabulary (domainforge.curation.quality.synthetic_junk) and windows of real non-prose files (code, markup, tables,
word lists, encoded data: `<domain>.raw_nonprose`) are labelled `drop`, so the model learns
"not domain prose" as well as "not domain". Chinese has no spaces, so every text is
segmented into jieba words (or split into characters) before fastText sees it, on the
curation engine (same tokens on any engine). The words come from rjieba, the Rust port of jieba: same
dictionary and HMM; on the shared corpora 98.3% of its tokens agree with jieba's and it is 15x
faster (benchmarks/results/quality_filters.json). The documents are tokenised once, by their
own node (`tokenise_documents`), whose output the training and the filter node both take from
the catalog. A bounded LRU cache of a pure function, rjieba's words per whitespace-free chunk
(`token_cache_chunks`), spares re-segmenting the synthetic junk built from the documents'
sentences. Training is seeded and single-threaded, so a run is reproducible.

The model is trained once, on all examples but a stratified held-out part, and its precision and
recall on that part are reported: the model returned (and saved) is the model measured. With too
few examples for a held-out split it is trained on all of them and the metrics say so instead.

The filter scores every document (`quality_score` = P(keep)) but only drops documents of the
corpora in `apply_to` — by default the domain corpus: general text is the negative class, so
judging it by "looks like the domain" would empty the general half of the 1:1 mix.
"""
from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatch
from functools import cache, lru_cache
from typing import Literal

import fasttext
import numpy as np
import pandas as pd
import rjieba

from domainforge.curation.engine import IN_PROCESS, map_batches
from domainforge.curation.quality.synthetic_junk import KINDS as JUNK_KINDS
from domainforge.curation.quality.synthetic_junk import make_junk
from domainforge.curation.split import hash_rank
from domainforge.curation.stage import DROP as DROP_COLUMN
from domainforge.curation.stage import Stage, run_stage
from domainforge.typed_settings import check_keys, from_params
from domainforge.unicode_scripts import HAN_RANGES

KEEP, DROP = "__label__keep", "__label__drop"
_CJK_OR_WORD_RE = re.compile(f"[{HAN_RANGES}]|[^\\W_]+")


@dataclass(frozen=True)
class Selector:
    """Documents chosen by corpus and, optionally, by glob patterns on `source`
    (e.g. ["pretrain_domain/*textbook*"])."""

    corpus: tuple[str, ...] = ()
    sources: tuple[str, ...] | None = None


@dataclass(frozen=True)
class NonproseSettings:
    """`quality_classifier.nonprose`: windows of lines of every file of `<domain>.raw_nonprose`
    (default data/01_raw/nonprose/: code, markup, tables, word lists, encoded data, written by us;
    point the catalog entry at your own). Windows overlap to give more examples."""

    window_lines: int = 8
    stride_lines: int = 2


@dataclass(frozen=True)
class ClassifierSettings:
    """`quality_classifier` (parameters_quality_classifier.yml sets what differs)."""

    positive: Selector = field(default_factory=lambda: Selector(("domain",)))  # wanted text, label keep
    negative: Selector = field(default_factory=lambda: Selector(("general",)))  # unwanted text, label drop
    # Documents of each class the model trains on, at most: a sample by seeded hash of the id, so
    # training stays bounded on any corpus size (the shared corpora have ~15k per class).
    max_documents_per_class: int | None = 200_000
    # Synthetic junk negatives built from the positives' own text, per positive document, of these
    # kinds (synthetic_junk.KINDS). Not `repeated_lines`: it is real sentences repeated, and a
    # bag-of-n-grams model can only learn from it that real sentences are junk.
    synthetic_negatives_per_positive: float = 0.5
    synthetic_kinds: tuple[str, ...] = tuple(k for k in JUNK_KINDS if k != "repeated_lines")
    nonprose: NonproseSettings = field(default_factory=NonproseSettings)
    # Chinese needs segmenting before fastText: jieba words, or `chars` (one token per character).
    segmenter: Literal["jieba", "chars"] = "jieba"
    max_chars: int = 2000  # of each document, for training and scoring
    # rjieba's words of this many whitespace-free chunks are kept in an LRU cache per process, so
    # repeated chunks (English words, the sentences of synthetic junk) are segmented once; 0 = no
    # cache. Same tokens whatever the bound: it trades memory (~0.3 KB + ~4 bytes a character per
    # chunk) for time. The shared corpora's training examples hold 246,841 distinct chunks (~80 MB).
    token_cache_chunks: int = 262_144
    seed: int = 0
    holdout_fraction: float = 0.2  # stratified; skipped (and said so in the metrics) when a class
    min_holdout_per_class: int = 5  # would get fewer held-out examples than this
    # fastText's train_supervised options (its own defaults for what is left out; thread 1 keeps
    # runs reproducible). parameters_quality_classifier.yml sets the measured choice.
    fasttext: dict = field(default_factory=dict)
    # Documents of these corpora scoring P(keep) below the threshold are dropped; general text is
    # the negative class, so judging it would empty the general half of the mix.
    apply_to: tuple[str, ...] = ("domain",)
    threshold: float = 0.2

    def __post_init__(self):
        # fastText's own option names, less those set here: model (supervised), seed
        # (quality_classifier.seed), verbose.
        options = sorted(set(fasttext.FastText.unsupervised_default) - {"model", "seed", "verbose"})
        check_keys(self.fasttext, options, "quality_classifier.fasttext")


def classifier_settings(params: Mapping | ClassifierSettings) -> ClassifierSettings:
    return from_params(ClassifierSettings, params, "quality_classifier")


def _jieba_words(chunk: str) -> str:
    """rjieba's words of one whitespace-free chunk, space-separated (one string: cheap to cache)."""
    return " ".join(word for word in rjieba.cut(chunk) if word.strip())


@cache
def _cached_jieba_words(max_chunks: int) -> Callable[[str], str]:
    """`_jieba_words` behind an LRU cache of its `max_chunks` most recent chunks (0: no cache),
    one cache per bound. The cache only saves work: an evicted chunk is segmented again."""
    if not isinstance(max_chunks, int) or max_chunks < 0:
        raise ValueError(f"quality_classifier.token_cache_chunks must be a whole number >= 0, not {max_chunks!r}")
    return lru_cache(maxsize=max_chunks)(_jieba_words)


def tokens(text: str, params: Mapping | ClassifierSettings) -> str:
    """One fastText input line: lower-cased tokens separated by spaces, newlines removed.

    jieba never joins characters across whitespace, so segmenting each whitespace-free chunk on
    its own gives the same words as segmenting the whole text. Chunks repeat (every English word,
    and the sentences synthetic junk is built from), so the words of the
    `token_cache_chunks` most recently used chunks are cached, per process: a worker
    process's additions die with it.
    """
    params = classifier_settings(params)
    text = text[: params.max_chars].lower()
    if params.segmenter == "jieba":
        # A whitespace-free chunk always has words (str.split and str.strip agree on whitespace),
        # so the chunks' strings join directly: no per-chunk filtering in Python.
        return " ".join(map(_cached_jieba_words(params.token_cache_chunks), text.split()))
    return " ".join(_CJK_OR_WORD_RE.findall(text))


def _tokenise_batch(params: ClassifierSettings, batch: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"tokens": [tokens(text, params) for text in batch["text"]]})


def tokenise(texts: list[str], params: Mapping | ClassifierSettings, runtime=IN_PROCESS) -> list[str]:
    """`tokens(text)` of every text, computed on the curation engine."""
    settings = classifier_settings(params)
    return map_batches(_tokenise_batch, pd.DataFrame({"text": list(texts)}), runtime, settings)["tokens"].tolist()


def _selected(documents: pd.DataFrame, selector: Mapping | Selector) -> pd.Series:
    selector = from_params(Selector, selector, "quality_classifier.positive/negative")
    mask = documents["corpus"].isin(list(selector.corpus))
    patterns = selector.sources
    if patterns:
        mask &= documents["source"].map(lambda source: any(fnmatch(source, p) for p in patterns))
    return mask


def nonprose_examples(files: dict[str, bytes], params: Mapping | NonproseSettings) -> list[str]:
    """Windows of `window_lines` non-empty lines, every `stride_lines`, of each non-prose file.

    A file that is not UTF-8 is an error naming it: these are files we ship or a user chose."""
    params = from_params(NonproseSettings, params, "quality_classifier.nonprose")
    examples = []
    for name, data in sorted(files.items()):
        try:
            lines = [line for line in data.decode("utf-8-sig").splitlines() if line.strip()]
        except UnicodeDecodeError as error:
            raise ValueError(f"non-prose example file {name} is not UTF-8: {error}") from None
        starts = range(0, max(len(lines) - params.window_lines, 0) + 1, params.stride_lines)
        examples += ["\n".join(lines[i : i + params.window_lines]) for i in starts if lines]
    return examples


def _sample(documents: pd.DataFrame, limit: int | None, seed: int) -> pd.DataFrame:
    """At most `limit` documents, chosen by a seeded hash of their ids (not by row order), so
    the classifier trains on a bounded corpus-independent sample however big the corpus is."""
    if limit is None or len(documents) <= limit:
        return documents
    ranks = pd.Series([hash_rank(i, seed) for i in documents["id"]], index=documents.index)
    return documents.loc[ranks.nsmallest(limit).index.sort_values()]


def training_examples(documents: pd.DataFrame, params: Mapping | ClassifierSettings, nonprose: list[str] = ()) -> pd.DataFrame:
    """Labelled examples: text, label, origin ("document", "synthetic_junk" or "nonprose") and
    `row`, a document example's position in `documents` (-1 for the others). Each class of
    documents is sampled down to `max_documents_per_class`."""
    params = classifier_settings(params)
    documents = documents.assign(row=np.arange(len(documents)))
    limit, seed = params.max_documents_per_class, params.seed
    positive = _sample(documents.loc[_selected(documents, params.positive), ["id", "text", "lang", "row"]], limit, seed)
    negative = _sample(documents.loc[
        _selected(documents, params.negative) & ~_selected(documents, params.positive), ["id", "text", "row"]
    ], limit, seed)
    junk = []
    for lang, group in positive.groupby("lang"):
        count = round(params.synthetic_negatives_per_positive * len(group))
        if lang in ("zh", "en") and count:
            junk += make_junk(count, lang, params.seed, group["text"].tolist(), kinds=params.synthetic_kinds)
    examples = pd.concat(
        [
            pd.DataFrame({"text": positive["text"], "label": KEEP, "origin": "document", "row": positive["row"]}),
            pd.DataFrame({"text": negative["text"], "label": DROP, "origin": "document", "row": negative["row"]}),
            pd.DataFrame({"text": [j["text"] for j in junk], "label": DROP, "origin": "synthetic_junk", "row": -1}),
            pd.DataFrame({"text": list(nonprose), "label": DROP, "origin": "nonprose", "row": -1}),
        ],
        ignore_index=True,
    )
    counts = examples["label"].value_counts()
    if counts.get(KEEP, 0) == 0 or counts.get(DROP, 0) == 0:
        raise ValueError(
            "quality_classifier needs examples of both classes: "
            f"{counts.get(KEEP, 0)} positive documents (selector {asdict(params.positive)}), "
            f"{counts.get(DROP, 0)} negative ones (selector {asdict(params.negative)}, plus synthetic junk)"
        )
    return examples


def _train(lines: list[str], params: ClassifierSettings):
    """fastText needs a training file: a temporary one, removed straight after."""
    handle, path = tempfile.mkstemp(prefix="quality_classifier_", suffix=".txt")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        return fasttext.train_supervised(input=path, seed=params.seed, verbose=0, **params.fasttext)
    finally:
        os.remove(path)


def keep_probability(model, texts: list[str]) -> np.ndarray:
    """P(keep) for already tokenised texts."""
    if not texts:
        return np.zeros(0)
    labels, probabilities = model.predict(texts, k=2)
    return np.array([dict(zip(ls, ps)).get(KEEP, 0.0) for ls, ps in zip(labels, probabilities)])


def _holdout(labels: np.ndarray, params: ClassifierSettings) -> np.ndarray | None:
    """Boolean mask of a stratified, seeded held-out part; None when a class is too small for one."""
    rng = np.random.default_rng(params.seed)
    held = np.zeros(len(labels), dtype=bool)
    for label in (KEEP, DROP):
        index = np.flatnonzero(labels == label)
        size = math.floor(params.holdout_fraction * len(index))
        if size < params.min_holdout_per_class:
            return None
        held[rng.choice(index, size=size, replace=False)] = True
    return held


def _scores(truth: np.ndarray, predicted_keep: np.ndarray) -> dict:
    def ratio(a, b):
        return round(float(a / b), 4) if b else None

    true_keep, keep_predicted = truth == KEEP, predicted_keep
    hits = np.sum(true_keep & keep_predicted)
    correct_drops = np.sum(~true_keep & ~keep_predicted)
    return {
        "examples": int(len(truth)),
        "accuracy": ratio(hits + correct_drops, len(truth)),
        "keep_precision": ratio(hits, keep_predicted.sum()),
        "keep_recall": ratio(hits, true_keep.sum()),
        "drop_precision": ratio(correct_drops, (~keep_predicted).sum()),
        "drop_recall": ratio(correct_drops, (~true_keep).sum()),
    }


def tokenise_documents(documents: pd.DataFrame, params: Mapping | ClassifierSettings, runtime=IN_PROCESS) -> list[str]:
    """The fastText input line of every document, in order: computed once, in its own node, for
    both the training and the filter node (through the catalog, not a memo)."""
    return tokenise(documents["text"].tolist(), params, runtime)


def _document_tokens(
    documents: pd.DataFrame, document_tokens: list[str] | None, params: ClassifierSettings, runtime=IN_PROCESS
) -> list[str]:
    if document_tokens is None:
        return tokenise_documents(documents, params, runtime)
    if len(document_tokens) != len(documents):
        raise ValueError(f"{len(document_tokens)} token lines for {len(documents)} documents: tokenise these documents")
    return list(document_tokens)


def train_quality_classifier(
    documents: pd.DataFrame, nonprose_files: dict[str, bytes], params: Mapping | ClassifierSettings,
    document_tokens: list[str] | None = None,
):
    """Train the classifier on `documents` and the non-prose files; returns (fastText model, metrics dict).
    `document_tokens` (tokenise_documents of `documents`) spares tokenising them again."""
    params = classifier_settings(params)
    examples = training_examples(documents, params, nonprose_examples(nonprose_files, params.nonprose))
    rows = examples["row"].to_numpy()
    doc_tokens = _document_tokens(documents, document_tokens, params)
    texts = np.empty(len(examples), dtype=object)
    texts[rows >= 0] = [doc_tokens[row] for row in rows[rows >= 0]]
    texts[rows < 0] = tokenise(examples.loc[rows < 0, "text"].tolist(), params)
    texts = texts.tolist()
    labels = examples["label"].to_numpy()
    lines = [f"{label} {text}" for label, text in zip(labels, texts)]
    metrics = {
        "examples": {
            "positive_documents": int((labels == KEEP).sum()),
            "negative_documents": int(((labels == DROP) & (examples["origin"] == "document")).sum()),
            "synthetic_junk": int((examples["origin"] == "synthetic_junk").sum()),
            "nonprose": int((examples["origin"] == "nonprose").sum()),
        },
        "threshold": params.threshold,
        "segmenter": params.segmenter,
    }
    held = _holdout(labels, params)
    if held is None:
        metrics["held_out"] = None
        metrics["held_out_skipped"] = (
            f"fewer than {params.min_holdout_per_class} held-out examples in a class "
            f"(holdout_fraction {params.holdout_fraction}): trained on all, not evaluated"
        )
        return _train(lines, params), metrics
    model = _train([line for line, h in zip(lines, held) if not h], params)
    scores = keep_probability(model, [text for text, h in zip(texts, held) if h])
    metrics["held_out"] = _scores(labels[held], scores >= params.threshold)
    return model, metrics


class PortableModel:
    """A fastText model that pickles (as its saved file's bytes), so the Ray engine can send it to
    its workers; the local engine's forked workers inherit it without pickling."""

    def __init__(self, model):
        self.model = model

    def __reduce__(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.bin")
            self.model.save_model(path)
            with open(path, "rb") as handle:
                return _load_portable, (handle.read(),)


def _load_portable(data: bytes) -> PortableModel:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.bin")
        with open(path, "wb") as handle:
            handle.write(data)
        return PortableModel(fasttext.load_model(path))


TOKENS_COLUMN = "fasttext_tokens"


def tokens_step(frame: pd.DataFrame, task: int, params: Mapping | ClassifierSettings) -> tuple[pd.DataFrame, dict]:
    """Plan step: each live document's fastText input line, computed once for both the training
    sample and the filter (dropped documents get none)."""
    params = classifier_settings(params)
    live = (frame["status"] == "").to_numpy()
    column = np.full(len(frame), None, dtype=object)
    column[live] = [tokens(text, params) for text in frame["text"].to_numpy()[live]]
    return frame.assign(**{TOKENS_COLUMN: column}), {}


def drop_tokens_step(frame: pd.DataFrame, task: int) -> tuple[pd.DataFrame, dict]:
    """Plan step: the token lines are the classifier's only: later tables do not carry them."""
    return frame.drop(columns=[TOKENS_COLUMN], errors="ignore"), {}


def training_sample(table, params: Mapping | ClassifierSettings) -> pd.DataFrame:
    """The documents `train_quality_classifier` can use, read part by part from a sharded table:
    of each class, the `max_documents_per_class` with the lowest seeded hash rank (the ones
    `_sample` would choose from the whole table), in table order, with their token lines.

    Two passes: the first keeps only (rank, part, row) of the best candidates so far (a record
    ranked above the current k-th best is skipped at once), the second reads the winners' text."""
    params = classifier_settings(params)
    limit, seed = params.max_documents_per_class, params.seed
    best: dict[str, np.ndarray] = {}  # class -> structured array (rank, part, row), <= limit long
    kind = np.dtype([("rank", np.uint64), ("part", np.int64), ("row", np.int64)])
    for part, frame in enumerate(table.frames(["id", "source", "corpus", "status"])):
        live = (frame["status"] == "").to_numpy()
        positive = _selected(frame, params.positive).to_numpy() & live
        classes = {"positive": positive, "negative": _selected(frame, params.negative).to_numpy() & live & ~positive}
        for name, members in classes.items():
            rows = np.flatnonzero(members)
            found = np.empty(len(rows), dtype=kind)
            found["rank"] = [hash_rank(i, seed) for i in frame["id"].to_numpy()[rows]]
            found["part"], found["row"] = part, rows
            kept = best.get(name, np.empty(0, dtype=kind))
            if limit is not None and len(kept) >= limit:
                found = found[found["rank"] < kept["rank"].max()]
            merged = np.concatenate([kept, found])
            if limit is not None and len(merged) > limit:
                merged = merged[np.argpartition(merged["rank"], limit - 1)[:limit]]
            best[name] = merged
    chosen = np.sort(np.concatenate(list(best.values())) if best else np.empty(0, dtype=kind), order=["part", "row"])
    columns = ["id", "source", "corpus", "text", "lang", TOKENS_COLUMN]
    frames = [
        table.read(int(part), columns).iloc[chosen["row"][chosen["part"] == part]]
        for part in np.unique(chosen["part"])
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def judge_classifier(batch: pd.DataFrame, params: Mapping | ClassifierSettings, model: PortableModel) -> pd.DataFrame:
    """Adds `quality_score` (P(keep)); documents of the `apply_to` corpora below the threshold
    are dropped (`below_threshold`)."""
    params = classifier_settings(params)
    out = batch.drop(columns=[TOKENS_COLUMN])
    out["quality_score"] = keep_probability(model.model, batch[TOKENS_COLUMN].tolist()).round(4)
    below = out["corpus"].isin(list(params.apply_to)) & (out["quality_score"] < params.threshold)
    out[DROP_COLUMN] = np.where(below, "below_threshold", "")
    return out


STAGE = Stage("classifier", judge=judge_classifier)


def filter_by_classifier(
    documents: pd.DataFrame, model, params: Mapping | ClassifierSettings, document_tokens: list[str] | None = None,
    runtime=IN_PROCESS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add `quality_score`; drop documents of the `apply_to` corpora scoring below the threshold."""
    params = classifier_settings(params)
    with_tokens = documents.assign(**{TOKENS_COLUMN: _document_tokens(documents, document_tokens, params, runtime)})
    return run_stage(STAGE, with_tokens, params, runtime, PortableModel(model))
