"""Ingest raw files into record tables.

Each raw dataset is a mapping {relative path: bytes}. A file's reader comes from the first
matching rule in `ingest.rules` (IngestRule; glob on the path) or from its extension. Every record gets
a stable id (`<role>/<path>#L<line>`); a malformed record is quarantined with its file and line.
A file that is not text at all raises an error naming it, or, with
`on_unreadable_file: quarantine` (for big crawls, where one bad file should not stop the run),
is quarantined as a whole: one record `<role>/<path>#file`, `quarantined:unreadable_file:<why>`.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from fnmatch import fnmatch
from typing import Literal

import pandas as pd

from domainforge import progress
from domainforge.curation.ingest.chat_layouts import ChatLayoutError, preference_from_record, to_messages
from domainforge.curation.ingest.encoding import DecodedFile, UnreadableFileError, decode_file
from domainforge.curation.records import (
    CHAT_COLUMNS,
    DOCUMENT_COLUMNS,
    DROP_COLUMNS,
    PREFERENCE_COLUMNS,
    frame,
    record_id,
)
from domainforge.curation.stage import Stage
from domainforge.typed_settings import from_params

log = logging.getLogger(__name__)

_FORMAT_BY_EXTENSION = {
    ".txt": "text",
    ".md": "text",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".xml": "medquad_xml",
}

# Ingest drops nothing; what it cannot use it quarantines, per record kind.
STAGE = Stage("ingest", ("quarantine_chats", "quarantine_preferences"))


class Quarantine(Exception):
    """A record that cannot be used as is; `reason` becomes `quarantined:<reason>`."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class IngestRule:
    """One of `ingest.rules`: how the files matching `match` are read (the first match wins)."""

    match: str  # glob on the path inside the role folder
    format: Literal["text", "jsonl", "csv", "medquad_xml"] | None = None  # null: from the extension
    split: Literal["line", "blank_line"] = "line"  # text: a record per line, or per blank-line paragraph
    delimiter: str | None = None  # csv: null is a tab for .tsv, a comma otherwise
    columns: tuple[str, ...] = ()  # documents: the fields (CSV columns) joined into the text
    text_fields: tuple[str, ...] = ()  # jsonl documents: the fields joined into the text (default: text)
    prompt_fields: tuple[str, ...] = ()  # CSV/XML as chats: the user turn's fields (default: question)
    response_field: str | None = None  # ... and the assistant turn's (default: answer)
    joiner: str = "\n"  # between joined fields


@dataclass(frozen=True)
class IngestSettings:
    """`<domain>.ingest`: how a domain's raw files are read."""

    rules: tuple[IngestRule, ...] = ()
    # fail: a file that is not text stops the run (small runs: a bad file is a bug to fix);
    # quarantine: it is quarantined whole (big crawls, where one bad file should not stop the run).
    on_unreadable_file: Literal["fail", "quarantine"] = "fail"


def ingest_settings(params: Mapping | IngestSettings) -> IngestSettings:
    return from_params(IngestSettings, params, "ingest")


def file_rule(path: str, params: Mapping | IngestSettings) -> IngestRule:
    """The reader settings for `path`: first matching rule, format defaulting from the extension."""
    rule = next((r for r in ingest_settings(params).rules if fnmatch(path, r.match)), IngestRule(match="*"))
    if rule.format is None:
        extension = path[path.rfind(".") :].lower() if "." in path else ""
        if extension not in _FORMAT_BY_EXTENSION:
            raise ValueError(f"{path}: no ingest rule matches and extension {extension!r} is unknown")
        rule = replace(rule, format=_FORMAT_BY_EXTENSION[extension])
    return rule


# --- readers: each yields (position, payload) or (position, Quarantine) -----------------------

Item = tuple[str, object]


def _text_units(decoded: DecodedFile, rule: IngestRule) -> Iterator[Item]:
    """Plain text: one record per line, or per blank-line-separated paragraph."""
    by_line = rule.split == "line"
    block: list[str] = []
    start = 0
    for number, line in enumerate(decoded.lines + [""], start=decoded.first_line):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        if block and (by_line or not line.strip()):
            if decoded.has_bad_line(start, number):
                yield f"L{start}", Quarantine("undecodable_bytes", f"line {start}")
            else:
                yield f"L{start}", {"text": "\n".join(block)}
            block = []


def _jsonl_objects(decoded: DecodedFile, rule: IngestRule) -> Iterator[Item]:
    for number, line in enumerate(decoded.lines, start=decoded.first_line):
        if not line.strip():
            continue
        position = f"L{number}"
        if number in decoded.bad_lines:
            yield position, Quarantine("undecodable_bytes", f"line {number}")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            yield position, Quarantine("bad_json", f"line {number}: {err.msg} at column {err.colno}")
            continue
        if not isinstance(obj, dict):
            yield position, Quarantine("bad_json", f"line {number}: a JSON object is expected")
            continue
        yield position, obj


def _csv_rows(decoded: DecodedFile, rule: IngestRule, source: str) -> Iterator[Item]:
    delimiter = rule.delimiter or ("\t" if source.endswith(".tsv") else ",")
    reader = csv.reader(io.StringIO(decoded.text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        return
    header = [name.strip() for name in header]
    named = [*rule.columns, *rule.prompt_fields, rule.response_field]
    wanted = [c for c in named if c and c not in header]
    if wanted:
        raise ValueError(f"{source}: CSV header {header} lacks columns {wanted}")
    start = reader.line_num + 1
    for row in reader:
        first, start = start, reader.line_num + 1
        position = f"L{first}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield position, Quarantine("malformed_row", f"line {first}: {len(row)} fields, header has {len(header)}")
        elif decoded.has_bad_line(first, reader.line_num):
            yield position, Quarantine("undecodable_bytes", f"line {first}")
        else:
            yield position, dict(zip(header, row))


def _medquad_pairs(decoded: DecodedFile, rule: IngestRule) -> Iterator[Item]:
    """MedQuAD-style XML: one item per <QAPair>, as {question, answer, focus}."""
    if decoded.bad_lines:
        first = min(decoded.bad_lines)
        yield f"L{first}", Quarantine("undecodable_bytes", f"line {first}")
        return
    try:
        root = ET.fromstring(decoded.text.encode("utf-8"))
    except ET.ParseError as err:
        yield f"L{err.position[0]}", Quarantine("bad_xml", f"line {err.position[0]}: {err}")
        return
    focus = (root.findtext("Focus") or "").strip()
    for index, pair in enumerate(root.iter("QAPair"), start=1):
        yield f"QA{pair.get('pid', index)}", {
            "question": (pair.findtext("Question") or "").strip(),
            "answer": (pair.findtext("Answer") or "").strip(),
            "focus": focus,
        }


def _items(source: str, data: bytes, rule: IngestRule, encoding: str | None = None, first_line: int = 1) -> Iterator[Item]:
    decoded = decode_file(data, source, encoding, first_line)
    fmt = rule.format
    if fmt == "text":
        yield from _text_units(decoded, rule)
    elif fmt == "jsonl":
        yield from _jsonl_objects(decoded, rule)
    elif fmt == "csv":
        yield from _csv_rows(decoded, rule, source)
    elif fmt == "medquad_xml":
        yield from _medquad_pairs(decoded, rule)
    else:
        raise ValueError(f"{source}: unknown ingest format {fmt!r}")


# --- record builders: turn one parsed item into a record's fields, or raise Quarantine --------


def _required_text(obj: Mapping, fields: list[str], joiner: str) -> str:
    missing = [f for f in fields if f not in obj]
    if missing:
        raise Quarantine(f"missing_field:{missing[0]}")
    values = [obj[f] for f in fields]
    if not all(isinstance(v, str) for v in values):
        raise Quarantine("not_text", f"fields {fields} must hold strings")
    if len(fields) > 1:  # a record whose named parts are partly missing is incomplete, not shorter
        empty = [f for f, v in zip(fields, values) if not v.strip()]
        if empty:
            raise Quarantine(f"empty_field:{empty[0]}")
    text = joiner.join(v.strip() for v in values)
    if not text:
        raise Quarantine("empty_text")
    return text


def document_fields(obj: Mapping, rule: IngestRule) -> dict:
    fmt = rule.format
    if fmt == "medquad_xml":
        if not obj["answer"]:
            raise Quarantine("missing_field:answer")
        fields = ["question", "answer"]
    else:
        fields = list(rule.columns or rule.text_fields) or (
            ["text"] if fmt != "csv" else [k for k in obj if isinstance(obj[k], str)]
        )
    return {"text": _required_text(obj, fields, rule.joiner)}


def _chat_fields(obj: Mapping, rule: IngestRule) -> dict:
    fmt = rule.format
    if fmt in ("csv", "medquad_xml"):
        prompt_fields = list(rule.prompt_fields) or ["question"]
        response_field = rule.response_field or "answer"
        prompt = _required_text(obj, prompt_fields, rule.joiner)
        response = _required_text(obj, [response_field], "\n")
        return {"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]}
    try:
        return {"messages": to_messages(obj)}
    except ChatLayoutError as err:
        raise Quarantine(err.reason, str(err)) from err


def _preference_fields(obj: Mapping, rule: IngestRule) -> dict:
    try:
        return preference_from_record(obj)
    except ChatLayoutError as err:
        raise Quarantine(err.reason, str(err)) from err


def on_unreadable_file(params: Mapping | IngestSettings) -> str:
    """`ingest.on_unreadable_file`; every `ingest` key is checked on the way."""
    return ingest_settings(params).on_unreadable_file


def read_piece(
    role: str, path: str, data: bytes, params: Mapping | IngestSettings, build: Callable[[Mapping, IngestRule], dict],
    encoding: str | None = None, first_line: int = 1,
) -> tuple[list[dict], list[dict]]:
    """(records, quarantined rows) of one file, or of a byte range of one (from `first_line`)."""
    source = f"{role}/{path}"
    rule = file_rule(path, params)
    records, quarantined = [], []
    try:
        items = list(_items(source, data, rule, encoding, first_line))
    except UnreadableFileError as err:
        if on_unreadable_file(params) == "fail":
            raise
        reason = str(err).removeprefix(f"{source}: ")
        quarantined.append({
            "id": record_id(source, "file"), "source": source,
            "status": f"quarantined:unreadable_file:{reason}", "detail": str(err),
        })
        return records, quarantined
    corpus = role.rsplit("_", 1)[-1] if role.endswith(("_domain", "_general")) else role
    for position, item in items:
        rid = record_id(source, position)
        try:
            if isinstance(item, Quarantine):
                raise item
            fields = build(item, rule)
        except Quarantine as err:
            quarantined.append({"id": rid, "source": source, "status": f"quarantined:{err.reason}", "detail": err.detail})
            continue
        records.append({"id": rid, "source": source, "corpus": corpus, **fields})
    return records, quarantined


def _read(
    files_by_role: Mapping[str, Mapping[str, bytes | Callable[[], bytes]]],
    params: Mapping,
    build: Callable[[Mapping, dict], dict],
    columns: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    on_unreadable_file(params)
    records, quarantined = [], []
    for role, files in files_by_role.items():
        if not files:
            log.warning("no input files for %s", role)
        for path in progress.bar(sorted(files), desc=f"ingest {role}", unit="file"):
            data = files[path]
            kept, bad = read_piece(role, path, data() if callable(data) else data, params, build)
            records += kept
            quarantined += bad
    return frame(records, columns), pd.DataFrame(quarantined, columns=DROP_COLUMNS + ["detail"])


def ingest_documents(raw_domain: Mapping, raw_general: Mapping, params: Mapping):
    """Pretraining documents from the domain and general raw folders."""
    roles = {"pretrain_domain": raw_domain, "pretrain_general": raw_general}
    return _read(roles, params, document_fields, DOCUMENT_COLUMNS)


def ingest_chats(raw_domain: Mapping, raw_general: Mapping, params: Mapping):
    """SFT chats (ShareGPT, Alpaca, OpenAI messages; CSV/XML Q&A) in the canonical messages schema."""
    roles = {"sft_domain": raw_domain, "sft_general": raw_general}
    return _read(roles, params, _chat_fields, CHAT_COLUMNS)


def ingest_preferences(raw: Mapping, params: Mapping):
    """Preference pairs as {prompt messages, chosen, rejected}."""
    return _read({"preference": raw}, params, _preference_fields, PREFERENCE_COLUMNS)
