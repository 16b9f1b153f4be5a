"""PII scrubbing for Chinese and English text, and the pipeline nodes that apply it to every table.

    from domainforge.data.privacy import scrub_text
    scrub_text("患者王某某，电话13812345678")  ->  "患者<NAME>，电话<PHONE>"

Scrubbing rewrites text and never drops a record. Detection is rule-based and validated
(checksums for IDs and cards, issuer prefixes for phones), so medical numbers (doses, lab values,
blood pressure, dates, ICD codes) and look-alikes that fail validation survive. The language is
not configured: Chinese rules run where there is Chinese script, English rules where there is
Latin script, structured rules everywhere. Names are found next to cues (患者X, X医生, Dr. X) and,
unless names_without_cue=False, also with no cue (谢伟今天来复查了, Adam Booth asked).
"""
from __future__ import annotations

import random
import re
from collections import Counter
from functools import lru_cache

import pandas as pd

from .pii_addresses import find_chinese_addresses, find_english_addresses
from .pii_names_en import find_english_names, find_uncued_english_names
from .pii_names_zh import find_chinese_names, jieba_module
from .pii_names_zh_uncued import find_uncued_chinese_names
from .pii_patterns import (
    find_emails,
    find_ips,
    find_labelled,
    find_numbers,
    find_passports,
    find_urls_with_user,
)
from .parallel import map_chunks
from .pii_surrogates import surrogate
from .pii_types import PII_TYPES, PRIORITY, TAGS, PiiSpan, check_types

PLACEHOLDER_STYLES = ("tag", "surrogate")
_NUMBER_KINDS = frozenset({"id_card", "bank_card", "ssn", "phone"})
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def _merge(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Overlapping detections become one span (their union), typed by the higher-priority kind."""
    merged: list[PiiSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, span.kind, key=PRIORITY.__getitem__)
            merged[-1] = PiiSpan(last.start, max(last.end, span.end), kind, last.pseudonym and span.pseudonym)
        else:
            merged.append(span)
    return merged


def _repeat_names(text: str, spans: list[PiiSpan]) -> list[PiiSpan]:
    """Other mentions of a name found in a cue context ("患者张伟 ... 张伟说") are the same person.
    Only full names repeat: a lone surname (张医生, Dr. Parkinson) would hit 张开 or Parkinson's disease."""
    found = []
    for name in {text[s.start:s.end] for s in spans if s.kind == "name" and not s.pseudonym}:
        if _CJK.match(name):
            pattern = re.escape(name) if len(name) >= 2 else None
        else:
            pattern = rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])" if " " in name else None
        if pattern:
            found.extend(PiiSpan(m.start(), m.end(), "name") for m in re.finditer(pattern, text))
    return found


class Scrubber:
    """Finds and replaces PII; one instance per configuration (it holds no per-text state)."""

    def __init__(self, types=None, placeholder: str = "tag", seed: int = 0, names_without_cue: bool = True):
        if placeholder not in PLACEHOLDER_STYLES:
            raise ValueError(f"placeholder must be one of {PLACEHOLDER_STYLES}, got {placeholder!r}")
        self.types = check_types(types)
        self.kinds = frozenset(self.types)
        self.placeholder = placeholder
        self.seed = seed
        # Also names with no context cue ("谢伟今天来复查了", "Adam Booth asked"): a common surname +
        # given-name characters confirmed by jieba, a common US first name + a capitalised surname.
        self.names_without_cue = names_without_cue

    def _names(self, text: str, has_cjk: bool, has_latin: bool) -> list[PiiSpan]:
        names = []
        if has_cjk:
            names += find_chinese_names(text) + (find_uncued_chinese_names(text) if self.names_without_cue else [])
        if has_latin:
            names += find_english_names(text) + (find_uncued_english_names(text) if self.names_without_cue else [])
        return names

    def find(self, text: str) -> list[PiiSpan]:
        """Non-overlapping PII spans in `text`, in order."""
        kinds, spans = self.kinds, []
        if "url" in kinds:
            spans += find_urls_with_user(text)
        if "email" in kinds:
            spans += find_emails(text)
        if kinds & _NUMBER_KINDS:
            spans += find_numbers(text, kinds)
        spans += find_labelled(text, kinds)
        if "passport" in kinds:
            spans += find_passports(text)
        if "ip" in kinds:
            spans += find_ips(text)
        has_cjk, has_latin = bool(_CJK.search(text)), bool(_LATIN.search(text))
        if "address" in kinds:
            spans += (find_chinese_addresses(text) if has_cjk else []) + (find_english_addresses(text) if has_latin else [])
        if "name" in kinds:
            names = self._names(text, has_cjk, has_latin)
            spans += names + _repeat_names(text, names)
        return _merge(spans)

    def scrub(self, text: str, key: str | None = None) -> tuple[str, Counter]:
        """(scrubbed text, count of each PII type found). `key` (a record id) seeds the surrogates,
        so one value gets one fake throughout a record."""
        spans = self.find(text)
        if not spans:
            return text, Counter()
        pieces, position, counts = [], 0, Counter()
        for span in spans:
            original = text[span.start:span.end]
            counts[span.kind] += 1
            if self.placeholder == "tag":
                replacement = TAGS[span.kind]
            elif span.pseudonym:
                replacement = original  # 王某某 is already a conventional pseudonym
            else:
                rng = random.Random(f"{self.seed}\x1f{key}\x1f{span.kind}\x1f{original}")
                replacement = surrogate(span.kind, original, rng)
            pieces += [text[position:span.start], replacement]
            position = span.end
        pieces.append(text[position:])
        return "".join(pieces), counts


@lru_cache(maxsize=16)
def _scrubber(types: tuple | None, placeholder: str, seed: int, names_without_cue: bool) -> Scrubber:
    return Scrubber(types, placeholder, seed, names_without_cue)


def scrub_text(
    text: str,
    *,
    types=None,
    placeholder: str = "tag",
    seed: int = 0,
    key: str | None = None,
    names_without_cue: bool = True,
) -> str:
    """Replace the PII in `text` with `<TYPE>` tags (or consistent fake values with
    placeholder="surrogate"). `types` limits the PII types (default: all of PII_TYPES);
    names_without_cue=False finds names only in cue contexts (患者X, Dr. X). Idempotent: scrubbing
    the result again changes nothing."""
    scrubber = _scrubber(None if types is None else tuple(types), placeholder, seed, names_without_cue)
    return scrubber.scrub(text, key)[0]


# --- pipeline nodes -------------------------------------------------------------------------

def _settings(params: dict) -> tuple[bool, Scrubber, bool]:
    params = params or {}
    unknown = set(params) - {"enabled", "types", "placeholder", "seed", "pii_column", "names_without_cue", "workers"}
    if unknown:
        raise ValueError(f"unknown privacy parameters {sorted(unknown)}")
    types = params.get("types")
    scrubber = _scrubber(
        None if types is None else tuple(types),
        params.get("placeholder", "tag"),
        int(params.get("seed", 0)),
        bool(params.get("names_without_cue", True)),
    )
    return bool(params.get("enabled", True)), scrubber, bool(params.get("pii_column", True))


def _report(enabled: bool, scrubber: Scrubber, per_record: list[Counter]) -> dict:
    total, records_with = Counter(), Counter()
    for counts in per_record:
        total.update(counts)
        records_with.update(counts.keys())
    return {
        "enabled": enabled,
        "placeholder": scrubber.placeholder,
        "types": list(scrubber.types),
        "names_without_cue": scrubber.names_without_cue,
        "records": len(per_record),
        "records_with_pii": sum(1 for counts in per_record if counts),
        "counts": {kind: int(total[kind]) for kind in PII_TYPES if total[kind]},
        "records_by_type": {kind: int(records_with[kind]) for kind in PII_TYPES if records_with[kind]},
    }


def _scrub_messages(scrubber: Scrubber, messages, key: str, counts: Counter) -> list[dict]:
    out = []
    for message in messages:
        message = dict(message)
        message["content"], found = scrubber.scrub(str(message["content"]), key)
        counts.update(found)
        out.append(message)
    return out


def _with_column(frame: pd.DataFrame, per_record: list[Counter], add: bool) -> pd.DataFrame:
    if add:
        frame["pii_types"] = [sorted(counts) for counts in per_record]
    return frame


def _scrub_texts(keys_and_texts: list[tuple[str, str]], params: dict) -> list[tuple[str, Counter]]:
    scrubber = _settings(params)[1]
    return [scrubber.scrub(text, key) for key, text in keys_and_texts]


def scrub_documents(documents: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, dict]:
    """Scrub the `text` of every document, in `params["workers"]` processes (each record is
    scrubbed on its own, so the result is the same); returns (documents, report)."""
    enabled, scrubber, column = _settings(params)
    out = documents.copy()
    per_record: list[Counter] = []
    if enabled:
        jieba_module()  # the Chinese name finders segment: load jieba once, before forking
        keys_and_texts = [(str(key), text) for key, text in zip(out["id"], out["text"])]
        scrubbed = map_chunks(_scrub_texts, keys_and_texts, (params or {}).get("workers", 1), params)
        out["text"] = [text for text, _ in scrubbed]
        per_record = [counts for _, counts in scrubbed]
    else:
        per_record = [Counter() for _ in range(len(out))]
    return _with_column(out, per_record, enabled and column), _report(enabled, scrubber, per_record)


def scrub_chats(chats: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, dict]:
    """Scrub the content of every message of every chat; returns (chats, report)."""
    enabled, scrubber, column = _settings(params)
    out = chats.copy()
    per_record = [Counter() for _ in range(len(out))]
    if enabled:
        out["messages"] = [
            _scrub_messages(scrubber, messages, str(key), counts)
            for key, messages, counts in zip(out["id"], out["messages"], per_record)
        ]
    return _with_column(out, per_record, enabled and column), _report(enabled, scrubber, per_record)


def scrub_preferences(preferences: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, dict]:
    """Scrub the prompt messages and both answers of every preference pair; returns (preferences, report)."""
    enabled, scrubber, column = _settings(params)
    out = preferences.copy()
    per_record = [Counter() for _ in range(len(out))]
    if enabled:
        for field in ("prompt", "chosen", "rejected"):
            out[field] = [
                _scrub_messages(scrubber, messages, str(key), counts)
                for key, messages, counts in zip(out["id"], out[field], per_record)
            ]
    return _with_column(out, per_record, enabled and column), _report(enabled, scrubber, per_record)
