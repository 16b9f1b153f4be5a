"""Raw input files as {relative path: bytes}: the ingest node decodes and parses them, so
encoding detection and per-line quarantine stay in pure, testable code. With `lazy: true` the
values are `RawFile` handles instead, read by range by the workers that ingest them, so a corpus
of any size is never loaded at once."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes
from kedro.io import AbstractDataset
from kedro_datasets._typing import TablePreview

_PREVIEW_BYTES = 4096  # enough to detect an encoding and show the first line


@dataclass(frozen=True)
class RawFile:
    """One raw file, read on demand: whole (`raw_file()`) or a byte range. Picklable, so it can
    travel to a worker; `size` and `mtime_ns` fingerprint the input."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> RawFile:
        stat = path.stat()
        return cls(os.fspath(path), stat.st_size, stat.st_mtime_ns)

    def __call__(self) -> bytes:
        return Path(self.path).read_bytes()

    def read(self, start: int, end: int) -> bytes:
        with open(self.path, "rb") as handle:
            handle.seek(start)
            return handle.read(end - start)


class RawFilesDataset(AbstractDataset[None, dict[str, Any]]):
    """Every file under `path` (recursively) whose name matches one of `patterns`.

    `path` may be a folder or a single file. Read-only: raw data is never written by the pipeline.
    `lazy: true` loads `RawFile` handles instead of the files' bytes.
    """

    def __init__(self, path: str, patterns: list[str] | None = None, lazy: bool = False, metadata: dict | None = None):
        self._path = Path(path)
        self._patterns = patterns or ["*"]
        self._lazy = lazy
        self.metadata = metadata

    def _paths(self) -> dict[str, Path]:
        if self._path.is_file():
            return {self._path.name: self._path}
        if not self._path.is_dir():
            raise FileNotFoundError(f"raw data folder {self._path} does not exist")
        files = {
            p.relative_to(self._path).as_posix(): p
            for pattern in self._patterns
            for p in self._path.rglob(pattern)
            if p.is_file() and not p.name.startswith(".")
        }
        return {name: files[name] for name in sorted(files)}

    def load(self) -> dict[str, Any]:
        if self._lazy:
            return {name: RawFile.of(path) for name, path in self._paths().items()}
        return {name: path.read_bytes() for name, path in self._paths().items()}

    def preview(self, nrows: int = 20) -> TablePreview:
        """The first `nrows` files: size, detected encoding and first line (the files' heads only)."""
        rows = []
        for name, path in list(self._paths().items())[:nrows]:
            with path.open("rb") as handle:
                head = handle.read(_PREVIEW_BYTES)
            match = from_bytes(head).best()
            first_line = str(match).lstrip("\ufeff").split("\n", 1)[0][:200] if match else None
            rows.append([name, path.stat().st_size, match.encoding if match else "binary", first_line])
        return TablePreview(
            {"index": list(range(len(rows))), "columns": ["file", "bytes", "encoding", "first_line"], "data": rows}
        )

    def save(self, data: Any) -> None:
        raise NotImplementedError(f"{self._path} is raw input; the pipeline never writes it")

    def _exists(self) -> bool:
        return self._path.exists()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "patterns": self._patterns, "lazy": self._lazy}
