"""The ledger: one row per input record with its final status, and the invariant
inputs = kept + dropped + quarantined, exactly (each input id accounted for once).

Documents: the mixed table holds every ingested document with its status (tables are never
filtered on the way, see shards.py), so their ledger rows are a projection of it, written part
by part. Chats and preference pairs are tables in memory: their rows come from the ingested
tables, the drop tables and the kept outputs, checked as a whole.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from domainforge.curation import registry
from domainforge.curation.engine import CurationRuntime
from domainforge.curation.plan import Plan, digest
from domainforge.curation.shards import STATUS, Shards

LEDGER_COLUMNS = ["id", "source", "status", "output", "tokens"]


class LedgerError(AssertionError):
    """Some input record is unaccounted for, accounted twice, or unknown."""


def build_ledger(
    inputs: Mapping[str, pd.DataFrame],
    drops: Mapping[str, pd.DataFrame],
    kept: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """Ledger columns: id, source, status (`kept` | `dropped:…` | `quarantined:…`), output.

    `inputs` are the ingested record tables; quarantine tables (in `drops`) are inputs too.
    `kept` maps each final output (e.g. `sft_train`) to its table.
    """
    rows = [t[["id", "source", "status"]].assign(output="") for t in drops.values() if len(t)]
    rows += [t[["id", "source"]].assign(status="kept", output=name) for name, t in kept.items() if len(t)]
    ledger = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["id", "source", "status", "output"])

    quarantined = ledger.loc[ledger["status"].str.startswith("quarantined:"), "id"]
    input_ids = set(pd.concat([t["id"] for t in inputs.values()] + [quarantined], ignore_index=True))
    counts = ledger["id"].value_counts()
    missing = sorted(set(input_ids) - set(counts.index))
    twice = sorted(counts[counts > 1].index)
    unknown = sorted(set(counts.index) - set(input_ids))
    if missing or twice or unknown:
        raise LedgerError(
            f"ledger invariant broken: {len(missing)} unaccounted (e.g. {missing[:3]}), "
            f"{len(twice)} accounted twice (e.g. {twice[:3]}), {len(unknown)} unknown (e.g. {unknown[:3]})"
        )
    return ledger.sort_values("id", kind="stable").reset_index(drop=True)


def document_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Ledger rows of one part of the mixed document table."""
    if frame["id"].duplicated().any():
        raise LedgerError(f"document ids twice in one part, e.g. {frame.loc[frame['id'].duplicated(), 'id'].iloc[0]!r}")
    live = (frame[STATUS] == "").to_numpy()
    status = np.where(live, "kept", frame[STATUS].to_numpy(dtype=object))
    output = np.where(live, "pretrain_" + frame["split"].fillna("").astype(str), "")
    for value in pd.unique(status[~live]):
        registry.stage_of(value)  # an unknown stage is an error, not a silent row
    return pd.DataFrame({
        "id": frame["id"].to_numpy(), "source": frame["source"].to_numpy(), "status": status,
        "output": output, "tokens": frame["tokens"].fillna(0).to_numpy(dtype=np.int64),
    })


@dataclass(frozen=True)
class LedgerSource:
    """The ledger as a plan source: one task per part of the mixed document table, then one for
    the in-memory records."""

    documents: Shards
    records: pd.DataFrame

    def tasks(self) -> int:
        return len(self.documents.parts) + 1

    def read(self, task: int) -> pd.DataFrame:
        if task < len(self.documents.parts):
            return document_rows(self.documents.read(task, ["id", "source", STATUS, "split", "tokens"]))
        return self.records.reindex(columns=LEDGER_COLUMNS)

    def fingerprint(self) -> str:
        return digest((self.documents.fingerprint, digest(self.records.to_json())))


def build_ledger_node(documents_raw: Shards, pretrain_mixed: Shards, runtime: Mapping | CurationRuntime, **tables) -> Plan:
    """The ledger (a plan of a sharded table): the mixed table must account for every ingested
    document; chats and preference pairs are checked here, in memory."""
    if len(pretrain_mixed) != len(documents_raw):
        raise LedgerError(f"{len(documents_raw)} ingested documents, but the mixed table accounts for {len(pretrain_mixed)}")
    runtime = runtime if isinstance(runtime, CurationRuntime) else CurationRuntime.from_params(runtime)
    inputs = {k: v for k, v in tables.items() if k in registry.INPUT_TABLES}
    drops = {k: v for k, v in tables.items() if k in registry.drop_tables()}
    kept = {k: v for k, v in tables.items() if k not in inputs and k not in drops}
    records = build_ledger(inputs, drops, kept).assign(tokens=0)
    return Plan(LedgerSource(pretrain_mixed, records), runtime=runtime)


def grouped_status(status: str) -> str:
    """A status without the record it names (`dropped:dedup:exact_duplicate_of:<id>`), for counts."""
    return status.split("_of:", 1)[0] if "_duplicate_of:" in status else status
