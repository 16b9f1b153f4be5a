"""Decontamination: drop training records that overlap an evaluation question, before training.

Overlap is defined as GPT-3 and lm-evaluation-harness's decontamination define it: a shared
n-gram (`decontamination.ngram`, 13) of normalised units, where a unit is a word of Latin (or
other space-separated) script and a single character of CJK script, so "13-gram" means 13 words
in English and 13 characters in Chinese. Normalised: casefolded, punctuation and whitespace are
not units. Every question of every benchmark of the domain's suite counts (all of them, not just
the `limit` scored), with its options: a training text that contains 13 consecutive units of a
question or of an option is contaminated. Questions (and options) shorter than n units cannot be
matched this way; the index reports how many.

The index is a sorted array of 64-bit n-gram hashes (about 8 bytes per distinct n-gram), built
once and shared with the workers; a record is dropped as `dropped:decontam:<benchmark>`, naming
the first benchmark (in suite order) it overlaps.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from domainforge.curation.dedup.minhash import _U64, _char_tables, _fmix64, _ngram_hashes
from domainforge.curation.engine import IN_PROCESS
from domainforge.curation.stage import DROP, Stage, run_stage
from domainforge.curation.tokens import chat_text
from domainforge.evaluation.suite import select_questions
from domainforge.typed_settings import from_params

_WORD_SALT, _CHAR_SALT = _U64(0x9E3779B97F4A7C15), _U64(0xC2B2AE3D27D4EB4F)
_WORD_BASE = _U64(0x100000001B3)


def unit_ngrams(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(n-gram hashes, index of the text each belongs to) over all `texts`, vectorised. Texts
    with fewer than n units yield nothing."""
    word_table, cjk_table = _char_tables()
    folded = [text.casefold() for text in texts]
    lengths = np.fromiter(map(len, folded), dtype=np.int64, count=len(folded))
    points = np.frombuffer("".join(folded).encode("utf-32-le"), dtype=np.uint32)
    doc = np.repeat(np.arange(len(folded)), lengths)
    is_word, is_cjk = word_table[points], cjk_table[points]
    latin = is_word & ~is_cjk
    # A unit starts at every CJK character and at the first character of every other word.
    starts = is_cjk.copy()
    starts[0:1] |= latin[0:1]
    starts[1:] |= latin[1:] & ~(latin[:-1] & (doc[1:] == doc[:-1]))
    positions = np.flatnonzero(is_word)
    unit_of = np.cumsum(starts[positions]) - 1  # unit index of every word character
    if not len(positions):
        return np.zeros(0, dtype=_U64), np.zeros(0, dtype=np.int64)
    first = np.flatnonzero(starts[positions])
    offset = np.arange(len(positions)) - first[unit_of]
    weights = np.cumprod(np.concatenate([[_U64(1)], np.full(int(offset.max()), _WORD_BASE, dtype=_U64)]))
    weighted = _fmix64(points[positions].astype(_U64)) * weights[offset]
    units = np.add.reduceat(weighted, first)
    units = _fmix64(units ^ np.where(is_cjk[positions[first]], _CHAR_SALT, _WORD_SALT))
    unit_doc = doc[positions[first]]
    hashes, hash_doc = _ngram_hashes(units, unit_doc, n)
    long_enough = np.bincount(unit_doc, minlength=len(texts))[hash_doc] >= n
    return hashes[long_enough], hash_doc[long_enough]


@dataclass(frozen=True)
class DecontaminationSettings:
    """`decontamination`: training records sharing an n-gram with any question or option of the
    domain's benchmark suite are dropped."""

    # Units per n-gram: words of Latin script, CJK characters, as GPT-3's and
    # lm-evaluation-harness's decontamination count them.
    ngram: int = 13


def decontamination_settings(params: Mapping | DecontaminationSettings) -> DecontaminationSettings:
    return from_params(DecontaminationSettings, params, "decontamination")


@dataclass(frozen=True)
class NgramIndex:
    hashes: np.ndarray  # sorted, unique uint64
    benchmark: np.ndarray  # per hash: index into `names` of the first benchmark that has it
    names: tuple[str, ...]
    ngram: int
    report: dict


def build_index(
    raw_benchmarks: dict[str, bytes], benchmarks: dict, suites: dict, evaluation: dict, params: Mapping | DecontaminationSettings
) -> NgramIndex:
    """The n-grams of every question and option of the domain's benchmark suite (`evaluation`:
    not read since benchmark specs carry their own defaults, evaluation/settings.py)."""
    n = decontamination_settings(params).ngram
    selected = select_questions(raw_benchmarks, suites[benchmarks["suite"]], limits={}, where=f"benchmark_suites.{benchmarks['suite']}")
    hashes, owners, report = [], [], {}
    for number, (name, benchmark) in enumerate(selected.items()):
        texts = [text for q in benchmark["questions"] for text in (q["question"], *q["options"].values())]
        found, text_of = unit_ngrams(texts, n)
        hashes.append(found)
        owners.append(np.full(len(found), number, dtype=np.int32))
        report[name] = {
            "questions": len(benchmark["questions"]),
            "texts_too_short": len(texts) - len(np.unique(text_of)),
            "ngrams": int(len(np.unique(found))),
        }
    all_hashes = np.concatenate(hashes) if hashes else np.zeros(0, dtype=_U64)
    all_owners = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int32)
    order = np.lexsort((all_owners, all_hashes))  # by hash, then suite order: first owner wins
    unique, first = np.unique(all_hashes[order], return_index=True)
    return NgramIndex(unique, all_owners[order][first], tuple(selected), n, report)


def record_texts(batch: pd.DataFrame) -> list[str]:
    """The text a record trains on: a document's text, a chat's messages, a preference pair's
    prompt and both answers."""
    if "text" in batch.columns:
        return batch["text"].tolist()
    if "messages" in batch.columns:
        return [chat_text(m) for m in batch["messages"]]
    return [chat_text(list(p) + list(c) + list(r)) for p, c, r in zip(batch["prompt"], batch["chosen"], batch["rejected"])]


def judge_decontam(batch: pd.DataFrame, params: Mapping | DecontaminationSettings, index: NgramIndex) -> pd.DataFrame:
    decontamination_settings(params)  # checked; the n-gram length is the index's
    out = batch.copy()
    reasons = np.full(len(batch), "", dtype=object)
    hashes, text_of = unit_ngrams(record_texts(batch), index.ngram)
    if len(hashes) and len(index.hashes):
        where = np.minimum(np.searchsorted(index.hashes, hashes), len(index.hashes) - 1)
        hit = index.hashes[where] == hashes
        # Per record, the earliest benchmark (suite order) among its overlapping n-grams.
        owner = np.full(len(batch), len(index.names), dtype=np.int64)
        np.minimum.at(owner, text_of[hit], index.benchmark[where[hit]])
        hit_records = owner < len(index.names)
        reasons[hit_records] = [index.names[i] for i in owner[hit_records]]
    out[DROP] = reasons
    return out


STAGE = Stage("decontam", ("drops_decontam_chats", "drops_decontam_preferences"),
              judge=judge_decontam)


def decontaminate(records: pd.DataFrame, index: NgramIndex, params: Mapping | DecontaminationSettings, runtime=IN_PROCESS):
    """(clean records, drops `dropped:decontam:<benchmark>`); the n-gram length is the index's."""
    return run_stage(STAGE, records, decontamination_settings(params), runtime, index)


def decontamination_report(index: NgramIndex, documents=None, **drops: pd.DataFrame) -> dict:
    """Records dropped per training set and benchmark, and what the index holds. `documents`: the
    sharded curated table, whose manifest counts its decontamination drops per benchmark."""
    dropped = {}
    if documents is not None:
        dropped["documents"] = dict(documents.stats.get("stages", {}).get(STAGE.name, {}).get("dropped", {}))
    dropped.update({
        name.removeprefix("drops_decontam_"): dict(Counter(t["status"].str.removeprefix("dropped:decontam:")))
        for name, t in drops.items()
    })
    return {
        "ngram": index.ngram,
        "units": "words of Latin script, single CJK characters; casefolded, punctuation ignored",
        "benchmarks": index.report,
        "dropped": dropped,
        "rag_chunks": "built from the decontaminated documents and chats",
    }
