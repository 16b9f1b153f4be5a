"""A sharded record table in the catalog: a folder of parquet parts and a manifest
(domainforge.curation.shards)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset
from kedro_datasets._typing import TablePreview

from domainforge.atomic_dir import readable
from domainforge.curation.plan import Plan, execute
from domainforge.curation.shards import MANIFEST, Shards, write_frame


class ShardedTableDataset(AbstractDataset[Any, Any]):
    """Loads a `Shards` handle (parts are read on demand, by whoever needs them), or with
    `load_args: {as_frame: true}` the records still in play as one DataFrame (for model inputs,
    which the trainers read whole).

    Saves a `Plan` by running it (one task per part on the plan's engine; done tasks of an
    interrupted run are kept), or a DataFrame as parts of `save_args.rows_per_part` rows."""

    def __init__(self, path: str, load_args: dict | None = None, save_args: dict | None = None, metadata: dict | None = None):
        self._path = Path(path)
        self._load_args = dict(load_args or {})
        self._save_args = {"rows_per_part": 5000, **(save_args or {})}
        unknown = set(self._load_args) - {"as_frame", "columns"} | set(self._save_args) - {"rows_per_part"}
        if unknown:
            raise ValueError(f"{path}: unknown ShardedTableDataset arguments {sorted(unknown)}")
        self.metadata = metadata

    def load(self) -> Shards | pd.DataFrame:
        table = Shards(self._path)
        if self._load_args.get("as_frame"):
            return table.to_pandas(self._load_args.get("columns"))
        return table

    def save(self, data: Plan | pd.DataFrame) -> None:
        if isinstance(data, Plan):
            execute(data, self._path)
        elif isinstance(data, pd.DataFrame):
            write_frame(data, self._path, int(self._save_args["rows_per_part"]))
        else:
            raise TypeError(f"{self._path}: a sharded table saves a Plan or a DataFrame, not {type(data).__name__}")

    def _exists(self) -> bool:
        return (readable(self._path) / MANIFEST).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "load_args": self._load_args, "save_args": self._save_args}

    def preview(self, nrows: int = 20) -> TablePreview:
        """The first rows of the first part, with each record's status."""
        table = Shards(self._path)
        frame = table.read(0).head(nrows) if table.parts else pd.DataFrame(columns=table.columns)
        for column in frame.columns:
            if frame[column].dtype == object or str(frame[column].dtype).startswith("str"):
                frame[column] = frame[column].map(lambda v: v if not isinstance(v, str) else v[:200])
        return TablePreview(frame.astype(str).to_dict(orient="split"))
