"""Chinese-aware chunking: split at the coarsest boundary that fits (paragraph, line end, sentence end
`。！？!?.`, clause `，、；：,;:`, word, character), then pack neighbouring pieces up to
`max_chars` with up to `overlap_chars` of trailing pieces repeated at the start of the next chunk.

Chunks are character spans of their source text, so a citation can point back to the exact
passage and tests can prove that nothing was lost.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Boundaries from coarse to fine; a match's end is a legal cut.
_LEVELS = [
    re.compile(r"\n\s*\n"),  # paragraph
    # A line end, unless the line stops mid-sentence (hard-wrapped English ends in a letter or comma).
    re.compile(r"(?<![A-Za-z,;\-])\n"),
    re.compile(r"[。！？!?]+[”’」』）)\"']*|\.+(?=\s)|[；;](?=\s)"),  # sentence end
    re.compile(r"[，、；：,;:]"),  # clause
    re.compile(r"\s+"),  # word
]


@dataclass(frozen=True)
class Chunk:
    """`text` is `source_text[start:end]` (already stripped); `source_id` is what answers cite."""

    text: str
    source_id: str
    start: int
    end: int

    @property
    def chunk_id(self) -> str:
        return f"{self.source_id}@{self.start}"


def _pieces(text: str, start: int, end: int, max_chars: int, level: int = 0) -> list[tuple[int, int]]:
    """Contiguous spans covering [start, end), each at most max_chars long, cut as coarsely as possible."""
    if end - start <= max_chars:
        return [(start, end)]
    if level == len(_LEVELS):
        return [(s, min(s + max_chars, end)) for s in range(start, end, max_chars)]
    cuts = [m.end() for m in _LEVELS[level].finditer(text, start, end) if start < m.end() < end]
    bounds = [start, *cuts, end]
    spans: list[tuple[int, int]] = []
    for a, b in zip(bounds, bounds[1:]):
        spans.extend(_pieces(text, a, b, max_chars, level + 1))
    return spans


def split_text(text: str, max_chars: int = 400, overlap_chars: int = 0) -> list[tuple[int, int]]:
    """(start, end) spans of the chunks of `text`; each stripped chunk is 1..max_chars characters."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    if not 0 <= overlap_chars < max_chars:
        raise ValueError(f"overlap_chars must be in [0, max_chars), got {overlap_chars}")
    pieces = _pieces(text, 0, len(text), max_chars)
    spans: list[tuple[int, int]] = []
    first = 0  # index of the first piece of the chunk being packed
    while first < len(pieces):
        last = first
        while last + 1 < len(pieces) and pieces[last + 1][1] - pieces[first][0] <= max_chars:
            last += 1
        spans.append((pieces[first][0], pieces[last][1]))
        if last + 1 == len(pieces):
            break
        # Start the next chunk with the trailing pieces that fit in the overlap, but always advance
        # and leave room for the next piece.
        nxt = last + 1
        while (
            nxt - 1 > first
            and pieces[last][1] - pieces[nxt - 1][0] <= overlap_chars
            and pieces[last + 1][1] - pieces[nxt - 1][0] <= max_chars
        ):
            nxt -= 1
        first = nxt
    return [_strip(text, a, b) for a, b in spans if text[a:b].strip()]


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def chunk_text(text: str, source_id: str, max_chars: int = 400, overlap_chars: int = 0) -> list[Chunk]:
    return [Chunk(text[a:b], source_id, a, b) for a, b in split_text(text, max_chars, overlap_chars)]


def chunk_texts(
    texts: Sequence[str], source_ids: Sequence[str], max_chars: int = 400, overlap_chars: int = 0
) -> list[Chunk]:
    if len(texts) != len(source_ids):
        raise ValueError(f"{len(texts)} texts but {len(source_ids)} source ids")
    chunks: list[Chunk] = []
    for text, source_id in zip(texts, source_ids):
        if not isinstance(text, str):
            raise TypeError(f"text of {source_id!r} is {type(text).__name__}, not str")
        chunks.extend(chunk_text(text, str(source_id), max_chars, overlap_chars))
    return chunks

