"""PII scrubbing for Chinese and English text, and the pipeline nodes that apply it to every table.

    from domainforge.curation.privacy import scrub_text
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
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import pandas as pd

from domainforge.curation.engine import IN_PROCESS
from domainforge.curation.privacy.addresses import find_chinese_addresses, find_english_addresses
from domainforge.curation.privacy.names_en import find_english_names, find_uncued_english_names
from domainforge.curation.privacy.names_zh import find_chinese_names, jieba_module
from domainforge.curation.privacy.names_zh_uncued import find_uncued_chinese_names
from domainforge.curation.privacy.patterns import (
    find_emails,
    find_ips,
    find_labelled,
    find_numbers,
    find_passports,
    find_urls_with_user,
)
from domainforge.curation.privacy.surrogates import surrogate
from domainforge.curation.privacy.types import PII_TYPES, PRIORITY, TAGS, PiiSpan, check_types
from domainforge.curation.stage import DROP, Stage, run_stage
from domainforge.typed_settings import from_params
from domainforge.unicode_scripts import HAN_RE

PLACEHOLDER_STYLES = ("tag", "surrogate")


@dataclass(frozen=True)
class PrivacySettings:
    """`privacy`: PII scrubbing rewrites text, never drops a record."""

    enabled: bool = True
    # PII types to scrub (null: all of PII_TYPES; list them to keep the others).
    types: tuple[str, ...] | None = None
    # Also names with no context cue ("谢伟今天来复查了", "Adam Booth asked"); false: only in cue
    # contexts (患者X, X医生, Dr. X), which leaves more of the fictional names in general text (novels).
    names_without_cue: bool = True
    # tag: <PHONE>, <NAME> ... | surrogate: a consistent fake per record (138****5678, 王某)
    placeholder: Literal["tag", "surrogate"] = "tag"
    seed: int = 0  # seeds the surrogates (with the record id)
    pii_column: bool = True  # add a per-record `pii_types` column (sorted list of types found)


def privacy_settings(params: Mapping | PrivacySettings | None) -> PrivacySettings:
    return from_params(PrivacySettings, params, "privacy")
_NUMBER_KINDS = frozenset({"id_card", "bank_card", "ssn", "phone"})
_CJK = HAN_RE
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

    def __init__(
        self,
        types=PrivacySettings.types,
        placeholder: str = PrivacySettings.placeholder,
        seed: int = PrivacySettings.seed,
        names_without_cue: bool = PrivacySettings.names_without_cue,
    ):
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
    types=PrivacySettings.types,
    placeholder: str = PrivacySettings.placeholder,
    seed: int = PrivacySettings.seed,
    key: str | None = None,
    names_without_cue: bool = PrivacySettings.names_without_cue,
) -> str:
    """Replace the PII in `text` with `<TYPE>` tags (or consistent fake values with
    placeholder="surrogate"). `types` limits the PII types (default: all of PII_TYPES);
    names_without_cue=False finds names only in cue contexts (患者X, Dr. X). Idempotent: scrubbing
    the result again changes nothing."""
    scrubber = _scrubber(None if types is None else tuple(types), placeholder, seed, names_without_cue)
    return scrubber.scrub(text, key)[0]


# --- pipeline nodes -------------------------------------------------------------------------

def _settings(params: Mapping | PrivacySettings | None) -> tuple[bool, Scrubber, bool]:
    settings = privacy_settings(params)
    scrubber = _scrubber(settings.types, settings.placeholder, settings.seed, settings.names_without_cue)
    return settings.enabled, scrubber, settings.pii_column


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


# The message-list fields scrubbed per table kind; documents have one `text`.
MESSAGE_FIELDS = {"documents": (), "chats": ("messages",), "preferences": ("prompt", "chosen", "rejected")}
PII_COUNTS = "pii_counts"


def judge_privacy(batch: pd.DataFrame, params: Mapping | PrivacySettings, kind: str) -> pd.DataFrame:
    """Scrubs every record of a `kind` table on its own; adds its PII counts. Never drops."""
    enabled, scrubber, _ = _settings(params)
    out = batch.copy()
    per_record = [Counter() for _ in range(len(out))]
    if enabled:
        if kind == "documents":
            scrubbed = [scrubber.scrub(text, str(key)) for key, text in zip(out["id"], out["text"])]
            out["text"] = [text for text, _ in scrubbed]
            per_record = [counts for _, counts in scrubbed]
        for field in MESSAGE_FIELDS[kind]:
            out[field] = [
                _scrub_messages(scrubber, messages, str(key), counts)
                for key, messages, counts in zip(out["id"], out[field], per_record)
            ]
    out[PII_COUNTS] = [dict(counts) for counts in per_record]
    out[DROP] = ""
    return out


def _load_jieba(params: Mapping | PrivacySettings) -> None:
    if _settings(params)[0]:
        jieba_module()  # the Chinese name finders segment: load jieba once per process


STAGE = Stage("privacy", judge=judge_privacy, prepare=_load_jieba, drops=False)


def counts_step(frame: pd.DataFrame, task: int, params: dict) -> tuple[pd.DataFrame, dict]:
    """Plan step after the privacy judge: the per-record PII counts become the part's totals
    (summed over parts into the report) and, with `pii_column`, each record's `pii_types`."""
    enabled, _, column = _settings(params)
    live = (frame["status"] == "").to_numpy()
    per_record = [Counter(c) if isinstance(c, dict) else Counter() for c in frame.pop(PII_COUNTS).to_numpy()]
    live_counts = [counts for counts, alive in zip(per_record, live) if alive]
    total, records_with = Counter(), Counter()
    for counts in live_counts:
        total.update(counts)
        records_with.update(counts.keys())
    if enabled and column:
        frame["pii_types"] = [sorted(counts) if alive else None for counts, alive in zip(per_record, live)]
    stats = {"records": len(live_counts), "records_with_pii": sum(1 for c in live_counts if c),
             "counts": dict(total), "records_by_type": dict(records_with)}
    return frame, {"privacy": stats}


def report_from_totals(params: dict, totals: dict) -> dict:
    """The privacy report of a sharded table, from the totals `counts_step` left in its manifest."""
    enabled, scrubber, _ = _settings(params)
    counts, by_type = totals.get("counts", {}), totals.get("records_by_type", {})
    return {
        "enabled": enabled,
        "placeholder": scrubber.placeholder,
        "types": list(scrubber.types),
        "names_without_cue": scrubber.names_without_cue,
        "records": int(totals.get("records", 0)),
        "records_with_pii": int(totals.get("records_with_pii", 0)),
        "counts": {kind: int(counts[kind]) for kind in PII_TYPES if counts.get(kind)},
        "records_by_type": {kind: int(by_type[kind]) for kind in PII_TYPES if by_type.get(kind)},
    }


def _scrub(kind: str, table: pd.DataFrame, params: Mapping | PrivacySettings, runtime) -> tuple[pd.DataFrame, dict]:
    params = privacy_settings(params)
    enabled, scrubber, column = _settings(params)
    out, _ = run_stage(STAGE, table, params, runtime, kind)
    per_record = [Counter(counts) for counts in out.pop(PII_COUNTS)]
    if enabled and column:
        out["pii_types"] = [sorted(counts) for counts in per_record]
    return out, _report(enabled, scrubber, per_record)


def scrub_documents(documents: pd.DataFrame, params: dict, runtime=IN_PROCESS) -> tuple[pd.DataFrame, dict]:
    """Scrub the `text` of every document; returns (documents, report)."""
    return _scrub("documents", documents, params, runtime)


def scrub_chats(chats: pd.DataFrame, params: dict, runtime=IN_PROCESS) -> tuple[pd.DataFrame, dict]:
    """Scrub the content of every message of every chat; returns (chats, report)."""
    return _scrub("chats", chats, params, runtime)


def scrub_preferences(preferences: pd.DataFrame, params: dict, runtime=IN_PROCESS) -> tuple[pd.DataFrame, dict]:
    """Scrub the prompt messages and both answers of every preference pair; returns (preferences, report)."""
    return _scrub("preferences", preferences, params, runtime)
