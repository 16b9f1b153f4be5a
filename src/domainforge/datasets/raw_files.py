"""Raw input files as {relative path: bytes}: the ingest node decodes and parses them, so
encoding detection and per-line quarantine stay in pure, testable code."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset


class RawFilesDataset(AbstractDataset[None, dict[str, bytes]]):
    """Every file under `path` (recursively) whose name matches one of `patterns`.

    `path` may be a folder or a single file. Read-only: raw data is never written by the pipeline.
    """

    def __init__(self, path: str, patterns: list[str] | None = None, metadata: dict | None = None):
        self._path = Path(path)
        self._patterns = patterns or ["*"]
        self.metadata = metadata

    def load(self) -> dict[str, bytes]:
        if self._path.is_file():
            return {self._path.name: self._path.read_bytes()}
        if not self._path.is_dir():
            raise FileNotFoundError(f"raw data folder {self._path} does not exist")
        files = {
            p.relative_to(self._path).as_posix(): p
            for pattern in self._patterns
            for p in self._path.rglob(pattern)
            if p.is_file() and not p.name.startswith(".")
        }
        return {name: files[name].read_bytes() for name in sorted(files)}

    def save(self, data: Any) -> None:
        raise NotImplementedError(f"{self._path} is raw input; the pipeline never writes it")

    def _exists(self) -> bool:
        return self._path.exists()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "patterns": self._patterns}
