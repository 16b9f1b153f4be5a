"""Raw files as ingest tasks, so every task reads about `raw_shard_mb` of raw bytes at most:
small files are grouped, and a large line-based file (JSONL, or text read by line or by
blank-line paragraph) is split into byte ranges that end on a record boundary. CSV (quoted fields
may hold newlines) and XML are read whole.

A range is decoded with the encoding detected once from the file's head, and its records keep
the ids they would have had from the whole file (`<role>/<path>#L<line>`): the planner counts the
lines before each range, one streaming pass over the file that holds a block at a time.
"""
from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from domainforge.curation.ingest import read
from domainforge.curation.ingest.encoding import detect_encoding
from domainforge.curation.plan import digest
from domainforge.curation.records import DOCUMENT_COLUMNS
from domainforge.curation.shards import STATUS

_BLOCK = 16 * 1024 * 1024  # bytes read at a time when counting lines or seeking a boundary
_HEAD = 4 * 1024 * 1024  # bytes an encoding is detected from
_WIDE_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


@dataclass(frozen=True)
class Piece:
    """A whole raw file, or a byte range of one starting at line `first_line`."""

    role: str
    path: str  # relative to the role's folder: the record ids' file part
    file: object  # a RawFile (datasets.raw_files): read on the worker
    start: int = 0
    end: int | None = None  # None: the whole file
    first_line: int = 1
    encoding: str | None = None  # None: detected from the data (whole files)

    def data(self) -> bytes:
        return self.file() if self.end is None else self.file.read(self.start, self.end)

    def size(self) -> int:
        return (self.file.size if self.end is None else self.end) - self.start

    def key(self) -> tuple:
        return (self.role, self.path, self.file.size, self.file.mtime_ns, self.start, self.end)


def _splittable(rule: read.IngestRule) -> bool:
    return rule.format in ("jsonl", "text")


def _next_boundary(file, position: int, paragraphs: bool) -> int:
    """The first record boundary at or after `position`: after the next newline, or (paragraphs)
    after the next blank line. The file's size if there is none."""
    with open(file.path, "rb") as handle:
        handle.seek(position)
        handle.readline()  # finish the line `position` falls in
        offset = handle.tell()
        while paragraphs:
            line = handle.readline()
            if not line:
                return file.size
            offset += len(line)
            if not line.strip():
                break
        return min(offset, file.size)


def _lines_in(file, start: int, end: int) -> int:
    """Line breaks in [start, end) as the decoder counts them: \\n, \\r\\n and a lone \\r."""
    count, previous = 0, b""
    with open(file.path, "rb") as handle:
        handle.seek(start)
        left = end - start
        while left > 0:
            block = handle.read(min(_BLOCK, left))
            if not block:
                break
            left -= len(block)
            joined = block.count(b"\r\n") + (previous == b"\r" and block[:1] == b"\n")
            count += block.count(b"\n") + block.count(b"\r") - joined
            previous = block[-1:]
    return count


def pieces_of(role: str, path: str, file, params: Mapping | read.IngestSettings, shard_bytes: int) -> list[Piece]:
    rule = read.file_rule(path, params)
    if file.size <= shard_bytes or not _splittable(rule):
        return [Piece(role, path, file)]
    head = file.read(0, min(file.size, _HEAD))
    if head.startswith(_WIDE_BOMS):  # UTF-16/32: newlines are not single bytes
        return [Piece(role, path, file)]
    encoding = detect_encoding(head[: head.rfind(b"\n") + 1] or head, f"{role}/{path}")
    starts = [0]
    while True:
        boundary = _next_boundary(file, starts[-1] + shard_bytes, rule.format == "text" and rule.split == "blank_line")
        if boundary >= file.size:
            break
        starts.append(boundary)
    ends = starts[1:] + [file.size]
    pieces, line = [], 1
    for start, end in zip(starts, ends):
        pieces.append(Piece(role, path, file, start, end, line, encoding))
        line += _lines_in(file, start, end)
    return pieces


def plan_tasks(files_by_role: Mapping[str, Mapping], params: Mapping, shard_bytes: int) -> tuple[tuple[Piece, ...], ...]:
    """Pieces grouped into tasks of at most `shard_bytes` raw bytes (a larger piece alone)."""
    settings = read.ingest_settings(params)  # checked once, not once per file (crawls hold millions)
    tasks, current, size = [], [], 0
    for role, files in files_by_role.items():
        for path in sorted(files):
            for piece in pieces_of(role, path, files[path], settings, shard_bytes):
                if current and size + piece.size() > shard_bytes:
                    tasks.append(tuple(current))
                    current, size = [], 0
                current.append(piece)
                size += piece.size()
    if current:
        tasks.append(tuple(current))
    return tuple(tasks)


@dataclass(frozen=True)
class RawSource:
    """Ingest as a plan source: a task's rows are the documents of its pieces, then their
    quarantined records (status `quarantined:<reason>`, no text)."""

    pieces: tuple[tuple[Piece, ...], ...]
    params: Mapping

    def tasks(self) -> int:
        return len(self.pieces)

    def read(self, task: int) -> pd.DataFrame:
        rows, settings = [], read.ingest_settings(self.params)
        for piece in self.pieces[task]:
            records, quarantined = read.read_piece(
                piece.role, piece.path, piece.data(), settings, read.document_fields, piece.encoding, piece.first_line
            )
            rows += [{**r, STATUS: "", "detail": None} for r in records]
            corpus = piece.role.rsplit("_", 1)[-1]
            rows += [{**q, "corpus": corpus, "text": None} for q in quarantined]
        columns = [*DOCUMENT_COLUMNS, STATUS, "detail"]
        return pd.DataFrame(rows, columns=columns).astype({"detail": object})

    def fingerprint(self) -> str:
        return digest(([[piece.key() for piece in task] for task in self.pieces], dict(self.params)))
