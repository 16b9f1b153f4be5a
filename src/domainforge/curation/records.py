"""The record tables every stage passes along, and the drop table that feeds the ledger.

documents: id, source, corpus ("domain" | "general"), text [+ lang, lang_score, quality_score]
chats:     id, source, corpus, messages (list of {role, content})
preferences: id, source, prompt (messages), chosen, rejected (one-message assistant lists)
drops:     id, source, status ("dropped:<stage>:<reason>" or "quarantined:<error>")
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

DROP_COLUMNS = ["id", "source", "status"]
DOCUMENT_COLUMNS = ["id", "source", "corpus", "text"]
CHAT_COLUMNS = ["id", "source", "corpus", "messages"]
PREFERENCE_COLUMNS = ["id", "source", "prompt", "chosen", "rejected"]


def record_id(source: str, position: int | str) -> str:
    """Stable id: the source file and the record's position in it (line or row)."""
    return f"{source}#{position}"


def drops_table(rows: Iterable[dict] = ()) -> pd.DataFrame:
    """A drop/quarantine table; rows need id, source and status."""
    return pd.DataFrame(list(rows), columns=DROP_COLUMNS)


def drop_rows(frame: pd.DataFrame, mask, status) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split `frame` by boolean `mask` (True = drop) into (kept, drops) with the given status.

    `status` is one string for all dropped rows or a Series aligned with `frame`.
    """
    mask = pd.Series(mask, index=frame.index).astype(bool)
    dropped = frame.loc[mask, ["id", "source"]].copy()
    dropped["status"] = status if isinstance(status, str) else pd.Series(status, index=frame.index)[mask]
    return frame.loc[~mask].reset_index(drop=True), drops_table(dropped.to_dict("records"))


def frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """A record table with at least `columns`, also when `rows` is empty."""
    out = pd.DataFrame(rows)
    for column in columns:
        if column not in out.columns:
            out[column] = pd.Series(dtype=object)
    return out
