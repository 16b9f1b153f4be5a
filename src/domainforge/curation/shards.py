"""Sharded record tables: a folder of parquet parts plus a manifest, so that no stage needs the
whole corpus in memory.

    <table>/manifest.json     {"format": 1, "fingerprint": ..., "rows": N, "parts": [{"name", "rows"}],
                               "tasks": T, "stats": {...}}
    <table>/part-00000-000.parquet   (task 0's first part), ...

A document table keeps every record it was given, with a `status` column: "" while the record is
in play, `dropped:<stage>:<reason>` or `quarantined:<reason>` once it left. Nothing is filtered on
the way, so the last table accounts for every input record and the ledger is a projection of it.

`write_task` writes one task's rows as parts of at most `rows_per_part` rows into a staging folder
and then a `task-<k>.json` marker, each by an atomic rename: a retried or rerun task rewrites the
same files, so nothing is lost or doubled, and a rerun after a crash skips the tasks whose marker
is there. `finish` writes the manifest and swaps the folder in (atomic_dir).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from domainforge.atomic_dir import readable, staging_path, swap_in

STATUS = "status"  # "" = still in play
MANIFEST = "manifest.json"
FORMAT = 1
# Arrow types of the known columns, so every part of a table has one schema even when a column is
# all null in some part (a part whose rows were all dropped before a stage added the column).
COLUMN_TYPES: dict[str, pa.DataType] = {
    "id": pa.string(),
    "source": pa.string(),
    "corpus": pa.string(),
    "text": pa.large_string(),
    "status": pa.string(),
    "detail": pa.string(),
    "lang": pa.string(),
    "lang_score": pa.float64(),
    "quality_score": pa.float64(),
    "tokens": pa.int64(),
    "classifier_tokens": pa.large_string(),
    "pii_types": pa.list_(pa.string()),
    "split": pa.string(),
    "output": pa.string(),
}


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    arrays, names = [], []
    for name in frame.columns:
        kind = COLUMN_TYPES.get(name)
        values = frame[name]
        arrays.append(pa.array(values, type=kind, from_pandas=True) if kind is not None else pa.array(values, from_pandas=True))
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


def write_task(staging: Path, task: int, frame: pd.DataFrame, rows_per_part: int, stats: Mapping) -> dict:
    """Write task `task`'s rows as parts, then its marker; returns the marker."""
    parts = []
    for index, start in enumerate(range(0, max(len(frame), 1), max(rows_per_part, 1))):
        chunk = frame.iloc[start : start + rows_per_part]
        name = f"part-{task:05d}-{index:03d}.parquet"
        table = to_arrow(chunk.reset_index(drop=True))
        _atomic_write(staging / name, lambda p, t=table: pq.write_table(t, p, compression="zstd"))
        parts.append({"name": name, "rows": len(chunk)})
    marker = {"task": task, "parts": parts, "stats": dict(stats)}
    _atomic_write(staging / f"task-{task:05d}.json", lambda p: p.write_text(json.dumps(marker), encoding="utf-8"))
    return marker


def done_tasks(staging: Path) -> set[int]:
    return {int(p.stem.split("-")[1]) for p in staging.glob("task-*.json")}


def read_marker(staging: Path, task: int) -> dict:
    return json.loads((staging / f"task-{task:05d}.json").read_text(encoding="utf-8"))


def merge_stats(into: dict, more: Mapping) -> dict:
    """Sum nested dicts of numbers (per-reason counters, seconds)."""
    for key, value in more.items():
        if isinstance(value, Mapping):
            merge_stats(into.setdefault(key, {}), value)
        else:
            into[key] = into.get(key, 0) + value
    return into


def open_staging(target: Path, fingerprint: str) -> Path:
    """The staging folder of `target`'s version `fingerprint`: kept from a crashed run of the same
    plan (its finished tasks count), any other version's removed."""
    staging = staging_path(target, fingerprint[:16])
    for other in target.parent.glob(f"{target.name}.staging-*"):
        if other != staging:
            shutil.rmtree(other, ignore_errors=True)
    staging.mkdir(parents=True, exist_ok=True)
    return staging


def finish(staging: Path, target: Path, fingerprint: str, tasks: int) -> Shards:
    markers = [read_marker(staging, task) for task in range(tasks)]
    parts = [part for marker in markers for part in marker["parts"] if part["rows"]]
    for marker in markers:  # an empty task leaves an empty part file: not part of the table
        for part in marker["parts"]:
            if not part["rows"]:
                (staging / part["name"]).unlink(missing_ok=True)
    schema = None
    if parts:
        schema = pq.read_schema(staging / parts[0]["name"]).remove_metadata()
    stats: dict = {}
    for marker in markers:
        merge_stats(stats, marker["stats"])
    manifest = {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "rows": sum(part["rows"] for part in parts),
        "columns": schema.names if schema is not None else [],
        "parts": parts,
        "tasks": tasks,
        "stats": stats,
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    for marker_file in staging.glob("task-*.json"):
        marker_file.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    swap_in(staging, target)
    return Shards(target, manifest)


def write_frame(frame: pd.DataFrame, target: Path, rows_per_part: int) -> Shards:
    """A whole in-memory table as a sharded table (tests, small tables)."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes()).hexdigest()
    staging = open_staging(target, digest)
    write_task(staging, 0, frame, rows_per_part, {})
    return finish(staging, target, digest, 1)


class Shards:
    """A finished sharded table (what the catalog's ShardedTableDataset loads): reads a part, or
    streams them; picklable, so workers read their own parts."""

    def __init__(self, root: str | os.PathLike, manifest: Mapping | None = None):
        self.root = Path(root)
        if manifest is None:
            path = readable(self.root) / MANIFEST
            if not path.exists():
                raise FileNotFoundError(f"{self.root} is not a finished sharded table (no {MANIFEST})")
            manifest = json.loads(path.read_text(encoding="utf-8"))
            self.root = path.parent
        self.manifest = dict(manifest)

    def __len__(self) -> int:
        return int(self.manifest["rows"])

    def __repr__(self) -> str:
        return f"Shards({self.root}, {len(self)} rows in {len(self.parts)} parts)"

    @property
    def parts(self) -> list[dict]:
        return self.manifest["parts"]

    @property
    def fingerprint(self) -> str:
        return self.manifest["fingerprint"]

    @property
    def stats(self) -> dict:
        return self.manifest.get("stats", {})

    @property
    def columns(self) -> list[str]:
        return list(self.manifest.get("columns", []))

    def read(self, part: int, columns: list[str] | None = None) -> pd.DataFrame:
        wanted = None if columns is None else [c for c in columns if c in self.columns]
        return pq.read_table(self.root / self.parts[part]["name"], columns=wanted).to_pandas()

    def frames(self, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
        for part in range(len(self.parts)):
            yield self.read(part, columns)

    def to_pandas(self, columns: list[str] | None = None, live: bool = True) -> pd.DataFrame:
        """The table in memory: only the records still in play (status "") unless `live=False`.
        For tables that fit (model inputs, the shipped sample); stages stream the parts."""
        wanted = None if columns is None else list(dict.fromkeys([*columns, STATUS]))
        frames = []
        for frame in self.frames(wanted):
            if live and STATUS in frame.columns:
                frame = frame[frame[STATUS] == ""]
            frames.append(frame)
        if not frames:
            return pd.DataFrame(columns=columns or self.columns)
        out = pd.concat(frames, ignore_index=True)
        if live and STATUS in out.columns and (columns is None or STATUS not in columns):
            out = out.drop(columns=[STATUS])
        return out
