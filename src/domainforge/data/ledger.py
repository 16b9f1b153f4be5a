"""The ledger: one row per input record with its final status, and the invariant
inputs = kept + dropped + quarantined, exactly (each input id accounted for once)."""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd


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


def build_ledger_node(**tables: pd.DataFrame) -> pd.DataFrame:
    """Kedro wrapper: tables named `*_raw` are inputs, `drops_*`/`quarantine_*` drops, others kept."""
    inputs = {k: v for k, v in tables.items() if k.endswith("_raw")}
    drops = {k: v for k, v in tables.items() if k.startswith(("drops_", "quarantine_"))}
    kept = {k: v for k, v in tables.items() if k not in inputs and k not in drops}
    return build_ledger(inputs, drops, kept)


def status_counts(ledger: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in ledger["status"].value_counts().sort_index().items()}
