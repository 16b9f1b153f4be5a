"""The duplicates a dedup node found, by part of the table it read (domainforge.curation.dedup.sharded)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from kedro.io import AbstractDataset

from domainforge.atomic_dir import readable, replacing
from domainforge.curation.dedup.sharded import Duplicates

_DONE = "_done"  # written last: a folder without it is not a finished table


class DuplicatesDataset(AbstractDataset[Any, Duplicates]):
    """A folder `task=<k>/*.parquet` (rows `row`, `status`). Saves a DataFrame (task, row, status)
    or a lazy `ray.data.Dataset` of those columns, which Ray's workers write (hive partitions)."""

    def __init__(self, path: str, metadata: dict | None = None):
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> Duplicates:
        return Duplicates(readable(self._path))

    def save(self, data) -> None:
        with replacing(self._path) as staging:
            if isinstance(data, pd.DataFrame):
                for task, group in data.groupby("task", sort=True):
                    folder = staging / f"task={int(task)}"
                    folder.mkdir()
                    table = pa.table({
                        "row": pa.array(group["row"].to_numpy(dtype="int64")),
                        "status": pa.array(group["status"].tolist(), pa.string()),
                    })
                    pq.write_table(table, folder / "part-0.parquet")
            else:  # a ray.data.Dataset: written where it is computed
                data.write_parquet(str(staging), partition_cols=["task"])
            (staging / _DONE).touch()

    def _exists(self) -> bool:
        return (readable(self._path) / _DONE).exists()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
