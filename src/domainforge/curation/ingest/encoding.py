"""Turn raw file bytes into text lines, detecting the encoding with charset-normalizer."""
from __future__ import annotations

import codecs
from dataclasses import dataclass

from charset_normalizer import from_bytes

# Lines that fail strict UTF-8 but stay under this share are bad records in a UTF-8 file,
# not a sign that the whole file is in another encoding.
_MAX_BAD_UTF8_LINE_SHARE = 0.01
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
# GBK and GB2312 are subsets of GB18030; decoding with the superset loses nothing.
_SUPERSETS = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "ascii": "utf-8"}


class UnreadableFileError(ValueError):
    """A whole input file cannot be read as text."""


@dataclass
class DecodedFile:
    encoding: str
    lines: list[str]  # one per physical line; undecodable bytes replaced by U+FFFD
    bad_lines: set[int]  # numbers (in the file) of the lines that held undecodable bytes
    first_line: int = 1  # the file's line number of lines[0] (a range of a large file starts later)

    def has_bad_line(self, first: int, last: int) -> bool:
        return any(first <= n <= last for n in self.bad_lines)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _bad_utf8_lines(data: bytes) -> tuple[int, int]:
    raw_lines = data.split(b"\n")
    bad = 0
    for raw in raw_lines:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            bad += 1
    return bad, len(raw_lines)


def detect_encoding(data: bytes, source: str) -> str:
    """The encoding of `data`: BOM first, then strict UTF-8, then charset-normalizer."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    bad, total = _bad_utf8_lines(data)
    if bad == 0 or bad / total <= _MAX_BAD_UTF8_LINE_SHARE:
        return "utf-8"
    if b"\x00" in data[:4096]:
        raise UnreadableFileError(f"{source}: binary content (NUL bytes) without a UTF-16/32 BOM")
    best = from_bytes(data).best()
    if best is None:
        raise UnreadableFileError(f"{source}: no text encoding fits its bytes")
    return _SUPERSETS.get(best.encoding, best.encoding)


def _split_lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def decode_file(data: bytes, source: str, encoding: str | None = None, first_line: int = 1) -> DecodedFile:
    """Decode `data`; lines with undecodable bytes are kept (with U+FFFD) and listed in
    `bad_lines` so their records can be quarantined. U+FFFD already in the source is not bad.

    A byte range of a large file (from its `first_line` on) is decoded with the `encoding`
    detected once for the whole file."""
    encoding = encoding or detect_encoding(data, source)
    try:
        return DecodedFile(encoding, _split_lines(data.decode(encoding)), set(), first_line)
    except UnicodeDecodeError:
        pass
    if encoding.startswith(("utf-16", "utf-32")):
        raise UnreadableFileError(f"{source}: invalid {encoding} byte sequence")
    lines, bad = [], set()
    # Only ASCII-compatible encodings get here, so splitting the bytes on b"\n" is safe.
    for number, raw in enumerate(data.split(b"\n"), start=first_line):
        try:
            lines.append(raw.decode(encoding).rstrip("\r"))
        except UnicodeDecodeError:
            lines.append(raw.decode(encoding, errors="replace").rstrip("\r"))
            bad.add(number)
    if len(bad) > len(lines) // 2:
        raise UnreadableFileError(f"{source}: most lines do not decode as {encoding}")
    return DecodedFile(encoding, lines, bad, first_line)
