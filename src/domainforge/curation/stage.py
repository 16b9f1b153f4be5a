"""The Stage interface every curation stage implements (registry.py lists them in pipeline order).

A record-level stage is a pure function on a batch of records, `judge(batch, params, *shared)`:
it returns the same rows in the same order, columns rewritten or added, plus a `drop` column with
the reason a record leaves (`""` = kept). `run_stage` owns the rest, as datatrove's
`BaseFilter` does: batching, the engine (engine.py), the drop table with statuses
`dropped:<stage>:<reason>`, per-reason counters and timing. A judgement depends only on the
record, the parameters and the shared inputs (e.g. a trained classifier), never on its batch or
on order, so every engine and batch size gives the same output.

Global stages (dedup, mix) decide over the whole table in their own nodes; they are Stages too,
so the ledger and the funnel know their drop tables.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from domainforge.curation.engine import CurationRuntime, map_batches
from domainforge.curation.records import DROP_COLUMNS

log = logging.getLogger(__name__)

DROP = "drop"  # the column a judge writes: "" keeps the record, anything else is the reason


@dataclass(frozen=True)
class Stage:
    name: str  # the <stage> of `dropped:<stage>:<reason>`, and its row in the funnel
    # The (per-domain) catalog datasets holding its drops of in-memory tables (chats, preference
    # pairs); documents are sharded tables that keep their drops in their `status` column.
    drop_tables: tuple[str, ...] = ()
    judge: Callable[..., pd.DataFrame] | None = None  # None: a global stage with its own node
    # Loads what every judge call needs (dictionaries, profiles) once per process: before the
    # local engine forks its workers, and in each Ray worker before its first batch.
    prepare: Callable[[Mapping], None] | None = None
    drops: bool = True  # False: the stage only rewrites records (privacy): no funnel row


def _judge_batch(stage: Stage, params: Mapping, shared: tuple, batch: pd.DataFrame) -> pd.DataFrame:
    if stage.prepare is not None:
        stage.prepare(params)
    judged = stage.judge(batch, params, *shared)
    if len(judged) != len(batch) or DROP not in judged.columns:
        raise ValueError(f"stage {stage.name!r}: a judge returns every record of its batch with a {DROP!r} column")
    return judged


def run_stage(
    stage: Stage, records: pd.DataFrame, params: Mapping, runtime: Mapping | CurationRuntime, *shared
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept records, drop table) of a record-level stage over `records` on the configured engine."""
    runtime = runtime if isinstance(runtime, CurationRuntime) else CurationRuntime.from_params(runtime)
    start = time.perf_counter()
    if stage.prepare is not None:
        stage.prepare(params)  # once here, so forked workers inherit it
    judged = map_batches(_judge_batch, records, runtime, stage, params, shared)
    reasons = judged[DROP].fillna("").astype(str) if len(judged) else pd.Series(dtype=str)
    dropped = reasons != ""
    drops = judged.loc[dropped, ["id", "source"]].assign(status="dropped:" + stage.name + ":" + reasons[dropped])
    kept = judged.loc[~dropped].drop(columns=[DROP]).reset_index(drop=True)
    counts = reasons[dropped].value_counts()
    log.info(
        "%s: %d in, %d kept, %d dropped %s in %.1f s (%s)",
        stage.name, len(records), len(kept), int(dropped.sum()),
        dict(counts.head(5)) if len(counts) else "", time.perf_counter() - start, runtime.describe(),
    )
    return kept, drops[DROP_COLUMNS].reset_index(drop=True)
