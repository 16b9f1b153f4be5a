"""The data report: per-stage funnel (records and tokens), drop reasons, language and length
distributions, and the stage reports, as JSON plus plots for kedro-viz."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: figures are saved through the catalog, never shown
from collections import Counter
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from domainforge.curation import registry
from domainforge.curation.ledger import grouped_status
from domainforge.curation.quality.content_type import CONTENT_TYPES
from domainforge.curation.shards import STATUS, Shards
from domainforge.curation.tokens import chat_text, count_tokens


def funnel(stage_records: Mapping[str, int], stage_tokens: Mapping[str, int], records: int, tokens: int) -> list[dict]:
    """Records and tokens still in play after each stage, from what each stage dropped."""
    rows = [{"stage": "input", "records": records, "tokens": tokens}]
    for stage in registry.funnel_stages():
        records -= int(stage_records.get(stage, 0))
        tokens -= int(stage_tokens.get(stage, 0))
        rows.append({"stage": stage, "records": records, "tokens": tokens, "dropped": int(stage_records.get(stage, 0))})
    return rows


def content_type_drops(statuses: Mapping[str, int]) -> dict:
    """Documents the content-type rules dropped, per content type and rule."""
    out: dict = {}
    for status, n in sorted(statuses.items()):
        rule = status.removeprefix("dropped:quality:")
        if rule in CONTENT_TYPES:
            entry = out.setdefault(CONTENT_TYPES[rule], {"documents": 0, "by_rule": {}})
            entry["documents"] += int(n)
            entry["by_rule"][rule] = int(n)
    return out


# Curated lengths are counted per character up to this length (exact percentiles below it), in
# one bin above: a table of any size is summarised in a fixed amount of memory.
_LENGTH_BINS = 1 << 16


def _length_stats(counts: np.ndarray, longest: int) -> dict:
    total = int(counts.sum())
    if not total:
        return {}
    cumulative = np.cumsum(counts)
    p5, p50, p95 = (int(np.searchsorted(cumulative, q * total, side="left")) for q in (0.05, 0.5, 0.95))
    return {"count": total, "p5": float(p5), "p50": float(p50), "p95": float(p95), "max": int(longest)}


def curated_summary(documents: Shards) -> tuple[dict, dict]:
    """(documents per language, length histograms and longest per corpus/language), one part at a time."""
    languages: Counter = Counter()
    lengths: dict[str, np.ndarray] = {}
    longest: Counter = Counter()
    for frame in documents.frames(["corpus", "lang", "text", STATUS]):
        frame = frame[frame[STATUS] == ""]
        lang = frame["lang"].fillna("unknown").astype(str) if "lang" in frame else pd.Series("unknown", index=frame.index)
        languages.update(lang.tolist())
        chars = frame["text"].str.len().to_numpy(dtype=np.int64)
        for key, group in pd.Series(chars, index=frame.index).groupby(frame["corpus"].astype(str) + "/" + lang):
            values = group.to_numpy()
            lengths[key] = lengths.get(key, np.zeros(_LENGTH_BINS, dtype=np.int64)) + np.bincount(
                np.minimum(values, _LENGTH_BINS - 1), minlength=_LENGTH_BINS
            )
            longest[key] = max(longest[key], int(values.max()))
    return dict(languages), {key: (lengths[key], longest[key]) for key in sorted(lengths)}


def ledger_summary(ledger: Shards, record_tokens: Mapping[str, int]) -> dict:
    """Counts over the ledger, one part at a time: statuses (a duplicate's status without the id
    it duplicates), kept records per output, and records and tokens dropped per stage."""
    statuses: Counter = Counter()
    kept_by_output: Counter = Counter()
    stage_records: Counter = Counter()
    stage_tokens: Counter = Counter()
    tokens = 0
    for frame in ledger.frames(["id", "status", "output", "tokens"]):
        if record_tokens:  # chats and preference pairs: counted by the report, not by a stage
            extra = frame["id"].map(record_tokens)
            frame["tokens"] = frame["tokens"].where(extra.isna(), extra).fillna(0)
        grouped = frame["status"].map(grouped_status)
        statuses.update(grouped.value_counts().to_dict())
        kept = frame["status"] == "kept"
        kept_by_output.update(frame.loc[kept, "output"].value_counts().to_dict())
        stages = grouped.map(registry.stage_of)
        stage_records.update(stages.value_counts().to_dict())
        stage_tokens.update(frame["tokens"].groupby(stages).sum().astype(int).to_dict())
        tokens += int(frame["tokens"].sum())
    return {
        "statuses": {str(k): int(v) for k, v in sorted(statuses.items())},
        "kept_by_output": {str(k): int(v) for k, v in sorted(kept_by_output.items())},
        "stage_records": dict(stage_records),
        "stage_tokens": dict(stage_tokens),
        "records": int(sum(statuses.values())),
        "tokens": tokens,
    }


def build_data_report(
    ledger: Shards,
    chats_raw: pd.DataFrame,
    preferences_raw: pd.DataFrame,
    documents_curated: Shards,
    tokenizer,
    **stage_reports: dict,
) -> dict:
    """The data report. Document tokens are the `tokens` column (counted once, after
    normalisation); chats and preference pairs are counted here, over all their messages."""
    texts = [chat_text(m) for m in chats_raw["messages"]]
    texts += [chat_text(list(p) + list(c) + list(r)) for p, c, r in
              zip(preferences_raw["prompt"], preferences_raw["chosen"], preferences_raw["rejected"])]
    ids = list(chats_raw["id"]) + list(preferences_raw["id"])
    counted = ledger_summary(ledger, dict(zip(ids, count_tokens(texts, tokenizer))))
    statuses = counted["statuses"]
    languages, lengths = curated_summary(documents_curated)
    return {
        "token_unit": "tokens" if tokenizer is not None else "characters",
        "records": {
            "input": counted["records"],
            "kept": int(statuses.get("kept", 0)),
            "dropped": sum(n for s, n in statuses.items() if s.startswith("dropped:")),
            "quarantined": sum(n for s, n in statuses.items() if s.startswith("quarantined:")),
        },
        "funnel": funnel(counted["stage_records"], counted["stage_tokens"], counted["records"], counted["tokens"]),
        "statuses": statuses,
        "content_type_drops": content_type_drops(statuses),
        "kept_by_output": counted["kept_by_output"],
        "languages": {str(k): int(v) for k, v in sorted(languages.items(), key=lambda kv: -kv[1])},
        "document_chars": {key: _length_stats(*value) for key, value in lengths.items()},
        "stages": stage_reports,
    }


def plot_funnel(report: dict):
    rows = report["funnel"]
    fig, ax_records = plt.subplots(figsize=(9, 4))
    x = np.arange(len(rows))
    ax_records.bar(x - 0.2, [r["records"] for r in rows], width=0.4, label="records")
    ax_tokens = ax_records.twinx()
    ax_tokens.bar(x + 0.2, [r["tokens"] for r in rows], width=0.4, color="tab:orange", label=report["token_unit"])
    ax_records.set_xticks(x, [r["stage"] for r in rows], rotation=30)
    ax_records.set_ylabel("records left")
    ax_tokens.set_ylabel(f"{report['token_unit']} left")
    ax_records.set_title("Curation funnel")
    fig.legend(loc="upper right")
    fig.tight_layout()
    return fig


def plot_distributions(documents: Shards):
    languages, lengths = curated_summary(documents)
    fig, (ax_lang, ax_len) = plt.subplots(1, 2, figsize=(10, 4))
    counts = pd.Series(languages).sort_values(ascending=False)
    ax_lang.bar(counts.index.astype(str), counts.to_numpy())
    ax_lang.set_title("Curated documents by language")
    longest = max([value[1] for value in lengths.values()] + [10])
    bins = np.logspace(0, np.log10(min(longest, _LENGTH_BINS)), 30)
    by_corpus: dict[str, np.ndarray] = {}
    for key, (counts_by_length, _) in lengths.items():
        corpus = key.split("/", 1)[0]
        by_corpus[corpus] = by_corpus.get(corpus, 0) + counts_by_length
    centres = np.arange(_LENGTH_BINS)
    for corpus, weights in sorted(by_corpus.items()):
        ax_len.hist(centres, bins=bins, weights=weights, alpha=0.6, label=corpus)
    ax_len.set_xscale("log")
    ax_len.set_xlabel("characters per document")
    ax_len.set_title("Document length")
    ax_len.legend()
    fig.tight_layout()
    return fig
