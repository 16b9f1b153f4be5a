"""The one multiple-choice shape every benchmark is converted to, and its JSONL file.

A record is ``{"question": str, "options": {"A": str, "B": str, ...}, "answer": "A"}``: two or
more options under consecutive letters from A, every text non-empty, the answer one of the
letters. Adapters may add ``id`` (``<file>#L<line>``, for tracing and decontamination) and
``subject``; other keys are kept as they are.

Bad records are errors (`McqFormatError`, naming file and line), never skipped: a benchmark is
a fixed published set, and a silently shorter file would change `n` and make two models'
scores, or our score and the published one, incomparable.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable
from pathlib import Path

LETTERS = string.ascii_uppercase


class McqFormatError(ValueError):
    """A benchmark record that cannot be converted; the message names file and line."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


def make_record(question, options: list, answer: str, where: str, **extra) -> dict:
    """A validated record from a question, option texts in letter order and an answer letter."""
    if not isinstance(question, str) or not question.strip():
        raise McqFormatError(where, "empty question")
    if len(options) < 2:
        raise McqFormatError(where, f"{len(options)} option(s); at least 2 are needed")
    if len(options) > len(LETTERS):
        raise McqFormatError(where, f"{len(options)} options; at most {len(LETTERS)} are supported")
    texts = {}
    for letter, text in zip(LETTERS, options):
        if not isinstance(text, str) or not text.strip():
            raise McqFormatError(where, f"option {letter} is empty or not text: {text!r}")
        texts[letter] = text.strip()
    answer = answer.strip() if isinstance(answer, str) else answer
    if answer not in texts:
        raise McqFormatError(where, f"answer {answer!r} is not one of the options {''.join(texts)}")
    return {**extra, "question": question.strip(), "options": texts, "answer": answer}


def validate_record(record, where: str) -> dict:
    """Check a record already in the common shape (as read back from a JSONL file)."""
    if not isinstance(record, dict):
        raise McqFormatError(where, f"expected a JSON object, got {type(record).__name__}")
    missing = [key for key in ("question", "options", "answer") if key not in record]
    if missing:
        raise McqFormatError(where, f"missing field(s) {missing}")
    options = record["options"]
    if not isinstance(options, dict):
        raise McqFormatError(where, "options must be an object {letter: text}")
    letters = list(options)
    if letters != list(LETTERS[: len(letters)]):
        raise McqFormatError(where, f"option letters {letters} are not consecutive from A")
    extra = {k: v for k, v in record.items() if k not in ("question", "options", "answer")}
    return make_record(record["question"], list(options.values()), record["answer"], where, **extra)


def read_utf8(path: Path) -> str:
    """The file decoded as UTF-8 (BOM allowed); a decoding error names the line it is on."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise McqFormatError(f"{path}:{line}", f"not UTF-8 ({error.reason})") from None


def read_mcq_jsonl(path: str | Path) -> list[dict]:
    """Records of a JSONL file in the common shape; any bad line raises `McqFormatError`."""
    path = Path(path)
    records = []
    for number, line in enumerate(read_utf8(path).split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise McqFormatError(where, f"bad JSON ({error.msg})") from None
        records.append(validate_record(record, where))
    if not records:
        raise McqFormatError(str(path), "no records")
    return records


def write_mcq_jsonl(records: Iterable[dict], path: str | Path) -> Path:
    """Write records (validated again) as UTF-8 JSONL, one per line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for number, record in enumerate(records, start=1):
            record = validate_record(record, f"record {number} written to {path}")
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path
