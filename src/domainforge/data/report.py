"""The data report: per-stage funnel (records and tokens), drop reasons, language and length
distributions, and the stage reports, as JSON plus plots for kedro-viz."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: figures are saved through the catalog, never shown
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .content_type import CONTENT_TYPES
from .ledger import status_counts
from .tokens import chat_text, count_tokens

# Stages in pipeline order; a record's stage is the one named in its status.
FUNNEL_STAGES = ["ingest", "normalise", "language", "quality", "classifier", "dedup", "format", "mix"]


def _stage(status: str) -> str:
    if status == "kept":
        return "kept"
    if status.startswith("quarantined:"):
        return "ingest"
    return status.split(":")[1]


def funnel(ledger: pd.DataFrame, tokens_by_id: pd.Series) -> list[dict]:
    """Records and tokens still in play after each stage."""
    stages = ledger["status"].map(_stage)
    tokens = ledger["id"].map(tokens_by_id).fillna(0)
    records_left, tokens_left = len(ledger), int(tokens.sum())
    rows = [{"stage": "input", "records": records_left, "tokens": tokens_left}]
    for stage in FUNNEL_STAGES:
        hit = stages == stage
        records_left -= int(hit.sum())
        tokens_left -= int(tokens[hit].sum())
        rows.append({"stage": stage, "records": records_left, "tokens": tokens_left, "dropped": int(hit.sum())})
    return rows


def content_type_drops(ledger: pd.DataFrame) -> dict:
    """Documents the content-type rules dropped, per content type and rule."""
    rules = ledger["status"].str.removeprefix("dropped:quality:")
    counts = rules[rules.isin(list(CONTENT_TYPES))].value_counts()
    out: dict = {}
    for rule, n in sorted(counts.items()):
        entry = out.setdefault(CONTENT_TYPES[rule], {"documents": 0, "by_rule": {}})
        entry["documents"] += int(n)
        entry["by_rule"][rule] = int(n)
    return out


def _length_stats(lengths: pd.Series) -> dict:
    if lengths.empty:
        return {}
    q = np.percentile(lengths, [5, 50, 95])
    return {"count": int(len(lengths)), "p5": float(q[0]), "p50": float(q[1]), "p95": float(q[2]), "max": int(lengths.max())}


def build_data_report(
    ledger: pd.DataFrame,
    documents_raw: pd.DataFrame,
    chats_raw: pd.DataFrame,
    documents_curated: pd.DataFrame,
    tokenizer,
    **stage_reports: dict,
) -> dict:
    texts = list(documents_raw["text"]) + [chat_text(m) for m in chats_raw["messages"]]
    ids = list(documents_raw["id"]) + list(chats_raw["id"])
    tokens_by_id = pd.Series(count_tokens(texts, tokenizer), index=ids, dtype="int64")
    lengths = documents_curated["text"].str.len()
    lang = documents_curated["lang"] if "lang" in documents_curated else pd.Series("unknown", index=documents_curated.index)
    statuses = status_counts(ledger)
    return {
        "token_unit": "tokens" if tokenizer is not None else "characters",
        "records": {
            "input": int(len(ledger)),
            "kept": int((ledger["status"] == "kept").sum()),
            "dropped": int(ledger["status"].str.startswith("dropped:").sum()),
            "quarantined": int(ledger["status"].str.startswith("quarantined:").sum()),
        },
        "funnel": funnel(ledger, tokens_by_id),
        "statuses": statuses,
        "content_type_drops": content_type_drops(ledger),
        "kept_by_output": {str(k): int(v) for k, v in ledger.loc[ledger["status"] == "kept", "output"].value_counts().items()},
        "languages": {str(k): int(v) for k, v in lang.value_counts().items()},
        "document_chars": {
            f"{corpus}/{language}": _length_stats(lengths[(documents_curated["corpus"] == corpus) & (lang == language)])
            for corpus, language in sorted(set(zip(documents_curated["corpus"], lang)))
        },
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


def plot_distributions(documents: pd.DataFrame):
    fig, (ax_lang, ax_len) = plt.subplots(1, 2, figsize=(10, 4))
    lang = documents["lang"] if "lang" in documents else pd.Series("unknown", index=documents.index)
    counts = lang.value_counts()
    ax_lang.bar(counts.index.astype(str), counts.to_numpy())
    ax_lang.set_title("Curated documents by language")
    lengths = documents["text"].str.len()
    bins = np.logspace(0, np.log10(max(int(lengths.max()) if len(lengths) else 1, 10)), 30)
    for corpus, group in lengths.groupby(documents["corpus"]):
        ax_len.hist(group, bins=bins, alpha=0.6, label=str(corpus))
    ax_len.set_xscale("log")
    ax_len.set_xlabel("characters per document")
    ax_len.set_title("Document length")
    ax_len.legend()
    fig.tight_layout()
    return fig
