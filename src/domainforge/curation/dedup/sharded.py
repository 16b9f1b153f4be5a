"""Exact and near dedup over a sharded document table, on either engine.

The decisions are minhash.py's (the same hashing, clusters and keep rule). Both read the keys
that keys.py's plan step left in the table (computed on the workers with the rest of the part),
not the text. What comes out is the duplicates: one row per dropped document, `(task, row,
status)`, where `task` is the part of the input table it sits in and `row` its place there;
`apply_duplicates` (a plan step) writes those statuses into that part. The local engine decides in
this process, streaming the parts (its memory is the exact keys, then the band keys); the Ray
engine decides with distributed.py's shuffles and writes the duplicates from its workers, so the
driver holds neither documents nor keys.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from domainforge.curation.dedup import keys
from domainforge.curation.dedup.minhash import (
    DedupSettings,
    NearDuplicateIndex,
    _report,
    dedup_settings,
    representative_statuses,
)
from domainforge.curation.engine import CurationRuntime, ray_session
from domainforge.curation.shards import STATUS, Shards

DUPLICATE_COLUMNS = ["task", "row", "status"]


class Duplicates:
    """A saved duplicates table: `task=<k>/*.parquet` for each part that has duplicates."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Duplicates({self.root})"

    def of_task(self, task: int) -> pd.DataFrame:
        folder = self.root / f"task={task}"
        if not folder.is_dir():
            return pd.DataFrame({"row": pd.Series(dtype="int64"), "status": pd.Series(dtype=object)})
        frame = pq.read_table(folder, columns=["row", "status"]).to_pandas()
        return frame.sort_values("row", kind="stable").reset_index(drop=True)

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for path in sorted(self.root.rglob("*.parquet")):
            digest.update(path.relative_to(self.root).as_posix().encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()

    def __reduce__(self):  # plans fingerprint their shared inputs by pickling: use the content
        return (_open_duplicates, (str(self.root), self.fingerprint()))


def _open_duplicates(root: str, _content: str) -> Duplicates:
    return Duplicates(root)


def apply_duplicates(frame: pd.DataFrame, task: int, *tables: Duplicates) -> tuple[pd.DataFrame, dict]:
    """Plan step: the dedup statuses meant for this part (only records still in play)."""
    counts: dict[str, int] = {}
    for table in tables:
        found = table.of_task(task)
        if found.empty:
            continue
        rows = found["row"].to_numpy()
        if (frame[STATUS].to_numpy()[rows] != "").any():
            raise RuntimeError(f"dedup named a record of part {task} that was no longer in play")
        frame.loc[frame.index[rows], STATUS] = found["status"].to_numpy()
        for status in found["status"]:
            reason = status.split(":")[2]
            counts[reason] = counts.get(reason, 0) + 1
    return frame, {"stages": {"dedup": {"dropped": counts}}}


def _live_part(table: Shards, task: int, columns: list[str], skip: Duplicates | None = None) -> pd.DataFrame:
    """Part `task`'s records still in play (and not in `skip`), with `row` = place in the part."""
    frame = table.read(task, [*columns, STATUS])
    frame["row"] = np.arange(len(frame))
    if skip is not None:
        gone = skip.of_task(task)["row"].to_numpy()
        frame.loc[frame.index[gone], STATUS] = "dropped:dedup"
    return frame[frame[STATUS] == ""].drop(columns=[STATUS])


def _live_parts(table: Shards, columns: list[str], skip: Duplicates | None = None) -> Iterator[tuple[int, pd.DataFrame]]:
    for task in range(len(table.parts)):
        yield task, _live_part(table, task, columns, skip)


# --- local: in this process --------------------------------------------------------------------


def _exact_local(table: Shards) -> pd.DataFrame:
    first_id: dict[bytes, str] = {}
    rows = []
    for task, live in _live_parts(table, ["id", keys.EXACT_KEY]):
        for row, doc_id, key in zip(live["row"], live["id"], live[keys.EXACT_KEY]):
            kept = first_id.setdefault(key, doc_id)
            if kept != doc_id:
                rows.append((task, int(row), f"dropped:dedup:exact_duplicate_of:{kept}"))
    return pd.DataFrame(rows, columns=DUPLICATE_COLUMNS)


def _near_local(table: Shards, exact: Duplicates, params: Mapping | DedupSettings) -> tuple[pd.DataFrame, dict]:
    index = NearDuplicateIndex(**asdict(dedup_settings(params).near))
    tasks, rows, ids, lengths, quality = [], [], [], [], []
    has_quality = "quality_score" in table.columns
    for task, live in _live_parts(table, ["id", "quality_score", *keys.NEAR_COLUMNS], skip=exact):
        index.add_band_keys(
            keys.band_matrix(live[keys.BANDS].tolist(), index.lsh.b, index.lsh.r),
            live[keys.SHINGLED].to_numpy(bool), live[keys.CJK].to_numpy(bool),
        )
        tasks.append(np.full(len(live), task))
        rows.append(live["row"].to_numpy())
        ids.append(live["id"].to_numpy(dtype=object))
        lengths.append(live[keys.LENGTH].to_numpy(np.int64))
        scores = pd.to_numeric(live["quality_score"], errors="coerce") if has_quality else pd.Series(0.0, index=live.index)
        quality.append(scores.fillna(-np.inf).to_numpy())
    flat = [np.concatenate(a) if a else np.zeros(0) for a in (tasks, rows, ids, lengths, quality)]
    tasks, rows, ids, lengths, quality = flat
    clusters = index.clusters()
    status = representative_statuses(clusters, ids, quality, lengths)
    hit = status.notna().to_numpy()
    out = pd.DataFrame({"task": tasks[hit].astype(int), "row": rows[hit].astype(int), "status": status[hit].to_numpy()})
    return out, _report(index, clusters, ids, status)


# --- ray: distributed.py's shuffles ------------------------------------------------------------


def _positions(table: Shards) -> np.ndarray:
    return np.concatenate([[0], np.cumsum([part["rows"] for part in table.parts])]).astype(np.int64)


def _read_live(batch: pd.DataFrame, table: Shards, offsets: np.ndarray, skip: Duplicates | None) -> pa.Table:
    """The live records of the parts in `batch`: their keys (keys.py), never their text."""
    frames = []
    for task in batch["task"]:
        live = _live_part(table, int(task), ["id", "quality_score", *keys.COLUMNS], skip)
        live = live.assign(position=offsets[int(task)] + live["row"].to_numpy())
        if "quality_score" not in live.columns:
            live["quality_score"] = np.nan
        frames.append(live)
    frame = pd.concat(frames, ignore_index=True)
    bands_width = len(frame[keys.BANDS].iat[0]) if len(frame) else 1
    return pa.table({
        "id": pa.array(frame["id"], pa.string()),
        "quality_score": pa.array(pd.to_numeric(frame["quality_score"]), pa.float64(), from_pandas=True),
        "position": pa.array(frame["position"].to_numpy(np.int64)),
        keys.EXACT_KEY: pa.array(frame[keys.EXACT_KEY].tolist(), pa.binary(16)),
        keys.BANDS: pa.array(frame[keys.BANDS].tolist(), pa.binary(bands_width)),
        keys.SHINGLED: pa.array(frame[keys.SHINGLED].to_numpy(bool)),
        keys.CJK: pa.array(frame[keys.CJK].to_numpy(bool)),
        keys.LENGTH: pa.array(frame[keys.LENGTH].to_numpy(np.int64)),
    })


def _to_duplicates(batch: pa.Table, offsets: np.ndarray) -> pa.Table:
    status = batch["status"].to_numpy(zero_copy_only=False)
    keep = np.array([bool(s) for s in status], dtype=bool)
    position = batch["position"].to_numpy()[keep]
    task = np.searchsorted(offsets, position, side="right") - 1
    return pa.table({
        "task": pa.array(task.astype(np.int64)),
        "row": pa.array((position - offsets[task]).astype(np.int64)),
        "status": pa.array(status[keep].astype(object), pa.string()),
    })


def _ray_documents(table: Shards, runtime: CurationRuntime, skip: Duplicates | None):
    ray = ray_session(runtime)
    offsets = _positions(table)
    tasks = list(range(len(table.parts)))
    return ray.data.from_items([{"task": t} for t in tasks], override_num_blocks=max(len(tasks), 1)).map_batches(
        _read_live, fn_args=(table, offsets, skip), batch_size=1, batch_format="pandas"
    ), offsets


def _check_keys(table: Shards) -> None:
    missing = [column for column in keys.COLUMNS if column not in table.columns]
    if missing:
        raise ValueError(f"{table.root} has no dedup keys ({missing}): compute them with dedup.keys.keys_step first")


def exact_duplicates(table: Shards, params: Mapping | DedupSettings, runtime: CurationRuntime):
    """The exact duplicates of `table`'s live documents: a DataFrame (local engine) or a lazy
    `ray.data.Dataset` the catalog writes (ray engine)."""
    params = dedup_settings(params)  # checked before any work
    _check_keys(table)
    if runtime.engine != "ray" or len(table) < runtime.in_memory_dedup_below:
        return _exact_local(table)
    from domainforge.curation.dedup import distributed

    docs, offsets = _ray_documents(table, runtime, None)
    return distributed.exact_dedup_dataset(docs, params).map_batches(
        _to_duplicates, fn_args=(offsets,), batch_format="pyarrow"
    )


def near_duplicates(table: Shards, exact: Duplicates, params: Mapping | DedupSettings, runtime: CurationRuntime):
    """(near duplicates, report) of `table`'s live documents that exact dedup kept."""
    params = dedup_settings(params)  # checked before any work
    _check_keys(table)
    if runtime.engine != "ray" or len(table) < runtime.in_memory_dedup_below:
        return _near_local(table, exact, params)
    from domainforge.curation.dedup import distributed

    docs, offsets = _ray_documents(table, runtime, exact)
    statuses, report = distributed.near_dedup_dataset(docs, params)
    return statuses.map_batches(_to_duplicates, fn_args=(offsets,), batch_format="pyarrow"), report
