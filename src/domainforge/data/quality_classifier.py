"""A fastText quality classifier trained inside the pipeline, and the filter that uses it.

Training examples: `positive` documents (by corpus and, optionally, source glob) are text we
want, labelled `keep`; `negative` documents, synthetic junk built from the positives' own
vocabulary (domainforge.data.junk) and windows of real non-prose files (code, markup, tables,
word lists, encoded data: `<domain>.raw_nonprose`) are labelled `drop`, so the model learns
"not domain prose" as well as "not domain". Chinese has no spaces, so every text is
segmented into jieba words (or split into characters) before fastText sees it, in `workers`
processes (same tokens either way). The words come from rjieba, the Rust port of jieba: same
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
from collections.abc import Callable
from fnmatch import fnmatch
from functools import lru_cache

import fasttext
import numpy as np
import pandas as pd
import rjieba

from .junk import make_junk
from .parallel import map_chunks
from .records import drop_rows

KEEP, DROP = "__label__keep", "__label__drop"
_CJK_OR_WORD_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]+")


def _jieba_words(chunk: str) -> str:
    """rjieba's words of one whitespace-free chunk, space-separated (one string: cheap to cache)."""
    return " ".join(word for word in rjieba.cut(chunk) if word.strip())


@lru_cache(maxsize=None)
def _cached_jieba_words(max_chunks: int) -> Callable[[str], str]:
    """`_jieba_words` behind an LRU cache of its `max_chunks` most recent chunks (0: no cache),
    one cache per bound. The cache only saves work: an evicted chunk is segmented again."""
    if not isinstance(max_chunks, int) or max_chunks < 0:
        raise ValueError(f"quality_classifier.token_cache_chunks must be a whole number >= 0, not {max_chunks!r}")
    return lru_cache(maxsize=max_chunks)(_jieba_words)


def tokens(text: str, params: dict) -> str:
    """One fastText input line: lower-cased tokens separated by spaces, newlines removed.

    jieba never joins characters across whitespace, so segmenting each whitespace-free chunk on
    its own gives the same words as segmenting the whole text. Chunks repeat (every English word,
    and the sentences synthetic junk is built from), so the words of the
    `params["token_cache_chunks"]` most recently used chunks are cached, per process: a worker
    process's additions die with it.
    """
    text = text[: params["max_chars"]].lower()
    if params["segmenter"] == "jieba":
        # A whitespace-free chunk always has words (str.split and str.strip agree on whitespace),
        # so the chunks' strings join directly: no per-chunk filtering in Python.
        return " ".join(map(_cached_jieba_words(params["token_cache_chunks"]), text.split()))
    if params["segmenter"] == "chars":
        return " ".join(_CJK_OR_WORD_RE.findall(text))
    raise ValueError(f"quality_classifier.segmenter must be 'jieba' or 'chars', not {params['segmenter']!r}")


def _tokens_of(texts: list[str], params: dict) -> list[str]:
    return [tokens(text, params) for text in texts]


def tokenise(texts: list[str], params: dict) -> list[str]:
    """`tokens(text)` of every text, computed in `params["workers"]` processes."""
    return map_chunks(_tokens_of, texts, params.get("workers", 1), params)


def _selected(documents: pd.DataFrame, selector: dict) -> pd.Series:
    mask = documents["corpus"].isin(selector.get("corpus") or [])
    patterns = selector.get("sources")
    if patterns:
        mask &= documents["source"].map(lambda source: any(fnmatch(source, p) for p in patterns))
    return mask


def nonprose_examples(files: dict[str, bytes], params: dict) -> list[str]:
    """Windows of `window_lines` non-empty lines, every `stride_lines`, of each non-prose file.

    A file that is not UTF-8 is an error naming it: these are files we ship or a user chose."""
    examples = []
    for name, data in sorted(files.items()):
        try:
            lines = [line for line in data.decode("utf-8-sig").splitlines() if line.strip()]
        except UnicodeDecodeError as error:
            raise ValueError(f"non-prose example file {name} is not UTF-8: {error}") from None
        starts = range(0, max(len(lines) - params["window_lines"], 0) + 1, params["stride_lines"])
        examples += ["\n".join(lines[i : i + params["window_lines"]]) for i in starts if lines]
    return examples


def training_examples(documents: pd.DataFrame, params: dict, nonprose: list[str] = ()) -> pd.DataFrame:
    """Labelled examples: text, label, origin ("document", "synthetic_junk" or "nonprose") and
    `row`, a document example's position in `documents` (-1 for the others)."""
    documents = documents.assign(row=np.arange(len(documents)))
    positive = documents.loc[_selected(documents, params["positive"]), ["text", "lang", "row"]]
    negative = documents.loc[
        _selected(documents, params["negative"]) & ~_selected(documents, params["positive"]), ["text", "row"]
    ]
    junk = []
    for lang, group in positive.groupby("lang"):
        count = round(params["synthetic_negatives_per_positive"] * len(group))
        if lang in ("zh", "en") and count:
            junk += make_junk(count, lang, params["seed"], group["text"].tolist(), kinds=tuple(params["synthetic_kinds"]))
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
            f"{counts.get(KEEP, 0)} positive documents (selector {params['positive']}), "
            f"{counts.get(DROP, 0)} negative ones (selector {params['negative']}, plus synthetic junk)"
        )
    return examples


def _train(lines: list[str], params: dict):
    """fastText needs a training file: a temporary one, removed straight after."""
    handle, path = tempfile.mkstemp(prefix="quality_classifier_", suffix=".txt")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        return fasttext.train_supervised(input=path, seed=params["seed"], verbose=0, **params["fasttext"])
    finally:
        os.remove(path)


def keep_probability(model, texts: list[str]) -> np.ndarray:
    """P(keep) for already tokenised texts."""
    if not texts:
        return np.zeros(0)
    labels, probabilities = model.predict(texts, k=2)
    return np.array([dict(zip(ls, ps)).get(KEEP, 0.0) for ls, ps in zip(labels, probabilities)])


def _holdout(labels: np.ndarray, params: dict) -> np.ndarray | None:
    """Boolean mask of a stratified, seeded held-out part; None when a class is too small for one."""
    rng = np.random.default_rng(params["seed"])
    held = np.zeros(len(labels), dtype=bool)
    for label in (KEEP, DROP):
        index = np.flatnonzero(labels == label)
        size = math.floor(params["holdout_fraction"] * len(index))
        if size < params["min_holdout_per_class"]:
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


def tokenise_documents(documents: pd.DataFrame, params: dict) -> list[str]:
    """The fastText input line of every document, in order: computed once, in its own node, for
    both the training and the filter node (through the catalog, not a memo)."""
    return tokenise(documents["text"].tolist(), params)


def _document_tokens(documents: pd.DataFrame, document_tokens: list[str] | None, params: dict) -> list[str]:
    if document_tokens is None:
        return tokenise_documents(documents, params)
    if len(document_tokens) != len(documents):
        raise ValueError(f"{len(document_tokens)} token lines for {len(documents)} documents: tokenise these documents")
    return list(document_tokens)


def train_quality_classifier(
    documents: pd.DataFrame, nonprose_files: dict[str, bytes], params: dict, document_tokens: list[str] | None = None
):
    """Train the classifier on `documents` and the non-prose files; returns (fastText model, metrics dict).
    `document_tokens` (tokenise_documents of `documents`) spares tokenising them again."""
    examples = training_examples(documents, params, nonprose_examples(nonprose_files, params["nonprose"]))
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
        "threshold": params["threshold"],
        "segmenter": params["segmenter"],
    }
    held = _holdout(labels, params)
    if held is None:
        metrics["held_out"] = None
        metrics["held_out_skipped"] = (
            f"fewer than {params['min_holdout_per_class']} held-out examples in a class "
            f"(holdout_fraction {params['holdout_fraction']}): trained on all, not evaluated"
        )
        return _train(lines, params), metrics
    model = _train([line for line, h in zip(lines, held) if not h], params)
    scores = keep_probability(model, [text for text, h in zip(texts, held) if h])
    metrics["held_out"] = _scores(labels[held], scores >= params["threshold"])
    return model, metrics


def filter_by_classifier(
    documents: pd.DataFrame, model, params: dict, document_tokens: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add `quality_score`; drop documents of the `apply_to` corpora scoring below the threshold."""
    out = documents.copy()
    out["quality_score"] = keep_probability(model, _document_tokens(documents, document_tokens, params)).round(4)
    judged = out["corpus"].isin(params["apply_to"])
    return drop_rows(out, judged & (out["quality_score"] < params["threshold"]), "dropped:classifier:below_threshold")
