"""Text normalisation that repairs encoding damage without touching Chinese punctuation.

NFC, not NFKC: NFKC folds full-width `，。：（）` into ASCII and would rewrite Chinese text.
"""
from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass

import ftfy
import pandas as pd

from domainforge.curation.engine import IN_PROCESS
from domainforge.curation.stage import DROP, Stage, run_stage
from domainforge.typed_settings import from_params


@dataclass(frozen=True)
class NormaliseSettings:
    """`normalise` (documents, and the messages of chats and preference pairs)."""

    unescape_html: bool = True  # &amp; -> &, &lt;br&gt; -> <br> (before ftfy, also when the text holds "<")


def normalise_settings(params: Mapping | NormaliseSettings | None) -> NormaliseSettings:
    return from_params(NormaliseSettings, params, "normalise")

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_BLANK_LINES = re.compile(r"\n{3,}")

_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,  # done explicitly below, also when the text contains "<"
    fix_character_width=False,  # would turn full-width Chinese punctuation into ASCII
    normalization="NFC",
    explain=False,
)


# Printable ASCII, tabs and newlines: every ftfy fix above needs some other character (mojibake,
# curly quotes and ligatures are non-ASCII; \r line breaks, ANSI escapes and control characters
# are outside this class), so ftfy returns such a text unchanged and its scan is skipped.
_PLAIN_ASCII = re.compile(r"[\t\n\x20-\x7e]*")


def normalise_text(text: str, params: Mapping | NormaliseSettings | None = None) -> str:
    """Unescape HTML entities, repair mojibake, drop control characters, tidy whitespace."""
    if normalise_settings(params).unescape_html:
        text = html.unescape(text)
    if not _PLAIN_ASCII.fullmatch(text):
        text = ftfy.fix_text(text, _FTFY)
    text = _ZERO_WIDTH.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def judge_normalise(batch: pd.DataFrame, params: Mapping | NormaliseSettings) -> pd.DataFrame:
    settings = normalise_settings(params)
    out = batch.copy()
    out["text"] = [normalise_text(t, settings) for t in out["text"]]
    out[DROP] = ["" if text else "empty_after_normalisation" for text in out["text"]]
    return out


STAGE = Stage("normalise", judge=judge_normalise)


def normalise_documents(documents: pd.DataFrame, params: Mapping | NormaliseSettings, runtime=IN_PROCESS):
    """(documents with normalised text, drops): documents left empty are dropped."""
    return run_stage(STAGE, documents, normalise_settings(params), runtime)
