"""Plans: sharded tables not computed yet.

A plan is where a table's rows come from (a finished sharded table, or raw files) plus the steps
every part goes through. The record-level nodes of the document pipeline return plans, and the
catalog hands them from node to node in memory; the sharded dataset that saves one runs all its
steps in one task per part (`execute`) on the configured engine. So consecutive stages fuse into
one pass over the data: each part is read once, judged by every stage of the segment and written
once, and an engine's fixed costs are paid once per segment, not once per stage.

Steps keep every row (a judge marks the records it drops in `status`), so a table accounts for
all its input records. A step sees the whole part but a judge only the rows still in play.
"""
from __future__ import annotations

import hashlib
import json
import logging
import pickle
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from domainforge.curation import shards
from domainforge.curation.engine import IN_PROCESS, CurationRuntime, run_tasks
from domainforge.curation.shards import STATUS, Shards
from domainforge.curation.stage import DROP, Stage

log = logging.getLogger(__name__)

# Columns that only records in play need: emptied for dropped ones when a table is read again,
# so later tables do not carry the text of every record dropped upstream (its own table has it).
PAYLOAD = ("text", "classifier_tokens")


class Source(Protocol):
    def tasks(self) -> int: ...
    def read(self, task: int) -> pd.DataFrame: ...
    def fingerprint(self) -> str: ...


@dataclass(frozen=True)
class TableSource:
    """A finished sharded table: one task per part."""

    table: Shards

    def tasks(self) -> int:
        return len(self.table.parts)

    def read(self, task: int) -> pd.DataFrame:
        frame = self.table.read(task)
        dead = frame[STATUS] != ""
        if dead.any():
            for column in PAYLOAD:
                if column in frame.columns:
                    frame[column] = frame[column].astype(object)
                    frame.loc[dead, column] = None
        return frame

    def fingerprint(self) -> str:
        return self.table.fingerprint


def digest(value) -> str:
    """A stable digest of parameters or shared inputs (a model, an index, a tokenizer)."""
    if isinstance(value, Mapping | list | tuple | str | int | float | bool | type(None)):
        try:
            return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
        except TypeError:
            pass
    return hashlib.sha256(pickle.dumps(value)).hexdigest()


@cache
def code_version() -> str:
    """A digest of the curation code: a plan written by other code is never taken as done."""
    root = Path(__file__).parent
    files = sorted(root.rglob("*.py"))
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


@dataclass(frozen=True)
class Judge:
    """A stage's judge on the rows still in play: the columns it rewrites or adds are written
    back for them, and the ones it drops get `dropped:<stage>:<reason>`."""

    stage: Stage
    params: Mapping
    shared: tuple = ()

    @property
    def name(self) -> str:
        return self.stage.name

    def key(self) -> tuple:
        return ("judge", self.stage.name, digest(dict(self.params)), tuple(digest(s) for s in self.shared))

    def __call__(self, frame: pd.DataFrame, task: int) -> tuple[pd.DataFrame, dict]:
        live = (frame[STATUS] == "").to_numpy()
        stats = {"in": int(live.sum()), "dropped": {}}
        if live.any():
            if self.stage.prepare is not None:
                self.stage.prepare(self.params)
            batch = frame.loc[live, [c for c in frame.columns if c != STATUS]].reset_index(drop=True)
            judged = self.stage.judge(batch, self.params, *self.shared)
            if len(judged) != len(batch) or DROP not in judged.columns:
                raise ValueError(f"stage {self.name!r}: a judge returns every record of its batch with a {DROP!r} column")
            frame = merge_live(frame, live, judged.drop(columns=[DROP]))
            reasons = judged[DROP].fillna("").astype(str).to_numpy()
            dropped = reasons != ""
            if dropped.any():
                where = np.flatnonzero(live)[dropped]
                frame.loc[frame.index[where], STATUS] = [f"dropped:{self.name}:{r}" for r in reasons[dropped]]
                stats["dropped"] = {str(k): int(v) for k, v in pd.Series(reasons[dropped]).value_counts().items()}
        return frame, {"stages": {self.name: stats}}


def merge_live(frame: pd.DataFrame, live: np.ndarray, judged: pd.DataFrame) -> pd.DataFrame:
    """`frame` with `judged`'s columns written into its live rows (new columns: null elsewhere)."""
    out = frame.copy()
    rows = out.index[live]
    for column in judged.columns:
        values = judged[column].to_numpy()
        if column not in out.columns or not live.all():
            if live.all():
                out[column] = values
                continue
            if column not in out.columns:
                out[column] = pd.Series([None] * len(out), index=out.index, dtype=object)
            else:
                out[column] = out[column].astype(object)
            out.loc[rows, column] = pd.Series(list(values), index=rows, dtype=object)
        else:
            out[column] = values
    return out


@dataclass(frozen=True)
class Map:
    """`function(frame, task, *args) -> (frame, stats)`: any step that keeps every row (checked),
    or, with `selects`, a final selection of rows (a split's view of its table)."""

    name: str
    function: Callable[..., tuple[pd.DataFrame, dict]]
    args: tuple = ()
    selects: bool = False

    def key(self) -> tuple:
        fn = f"{self.function.__module__}.{self.function.__qualname__}"
        return ("map", self.name, fn, tuple(digest(a) for a in self.args), self.selects)

    def __call__(self, frame: pd.DataFrame, task: int) -> tuple[pd.DataFrame, dict]:
        out, stats = self.function(frame, task, *self.args)
        if not self.selects and (len(out) != len(frame) or not np.array_equal(out["id"].to_numpy(), frame["id"].to_numpy())):
            raise RuntimeError(f"step {self.name!r} changed the rows of task {task}: every record must stay accounted for")
        return out, stats


Step = Judge | Map


@dataclass(frozen=True)
class Plan:
    source: Source
    steps: tuple[Step, ...] = ()
    runtime: CurationRuntime = field(default=IN_PROCESS)

    def then(self, *steps: Step) -> Plan:
        return replace(self, steps=self.steps + steps)

    def fingerprint(self) -> str:
        key = (code_version(), self.source.fingerprint(), [step.key() for step in self.steps], self.runtime.shard_rows)
        return hashlib.sha256(repr(key).encode()).hexdigest()

    def compute(self, task: int) -> tuple[pd.DataFrame, dict]:
        frame = self.source.read(task)
        if STATUS not in frame.columns:
            frame[STATUS] = ""
        stats: dict = {}
        for step in self.steps:
            start = time.perf_counter()
            frame, more = step(frame, task)
            # Summed over tasks: CPU-seconds of each step inside a fused segment.
            shards.merge_stats(stats, {**more, "step_seconds": {step.name: time.perf_counter() - start}})
        return frame, stats

    def to_pandas(self, live: bool = True) -> pd.DataFrame:
        """Computed in this process (library use and tests); `live` keeps records in play only."""
        frames = [self.compute(task)[0] for task in range(self.source.tasks())]
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[STATUS])
        return out[out[STATUS] == ""].drop(columns=[STATUS]).reset_index(drop=True) if live else out


def source_of(table: Shards | Plan, runtime: CurationRuntime) -> Plan:
    """A plan that continues `table`: a finished table, or a plan a previous node returned."""
    if isinstance(table, Plan):
        return replace(table, runtime=runtime)
    if isinstance(table, Shards):
        return Plan(TableSource(table), runtime=runtime)
    raise TypeError(f"expected a sharded table or a plan, not {type(table).__name__}")


def execute(plan: Plan, target: str | Path) -> Shards:
    """Run `plan` into the sharded table at `target`, one task per source part, on its engine.

    Done already (same fingerprint: inputs, parameters, shared inputs and code): nothing runs.
    Interrupted before (a killed run): the tasks it finished are kept, the rest run."""
    target = Path(target)
    fingerprint = plan.fingerprint()
    try:
        if Shards(target).fingerprint == fingerprint:
            log.info("%s: up to date", target)
            return Shards(target)
    except FileNotFoundError:
        pass
    staging = shards.open_staging(target, fingerprint)
    tasks = plan.source.tasks()
    done = shards.done_tasks(staging)
    todo = [task for task in range(tasks) if task not in done]
    if done:
        log.info("%s: %d of %d tasks were finished by an interrupted run", target, len(done & set(range(tasks))), tasks)
    start = time.perf_counter()
    run_tasks(_run_task, todo, plan.runtime, plan, str(staging), desc=target.name)
    table = shards.finish(staging, target, fingerprint, tasks)
    log.info(
        "%s: %d rows in %d parts, %d tasks in %.1f s (%s)",
        target, len(table), len(table.parts), len(todo), time.perf_counter() - start, plan.runtime.describe(),
    )
    return table


def _run_task(plan: Plan, staging: str, task: int) -> dict:
    frame, stats = plan.compute(task)
    return shards.write_task(Path(staging), task, frame, plan.runtime.shard_rows, stats)
