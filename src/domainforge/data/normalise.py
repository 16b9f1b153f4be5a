"""Text normalisation that repairs encoding damage without touching Chinese punctuation.

NFC, not NFKC: NFKC folds full-width `，。：（）` into ASCII and would rewrite Chinese text.
"""
from __future__ import annotations

import html
import re
from collections.abc import Mapping

import ftfy
import pandas as pd

from .parallel import map_chunks
from .records import drop_rows

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_BLANK_LINES = re.compile(r"\n{3,}")

_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,  # done explicitly below, also when the text contains "<"
    fix_character_width=False,  # would turn full-width Chinese punctuation into ASCII
    normalization="NFC",
    explain=False,
)


def normalise_text(text: str, params: Mapping | None = None) -> str:
    """Unescape HTML entities, repair mojibake, drop control characters, tidy whitespace."""
    params = params or {}
    if params.get("unescape_html", True):
        text = html.unescape(text)
    text = ftfy.fix_text(text, _FTFY)
    text = _ZERO_WIDTH.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def normalise_all(texts: list[str], params: Mapping) -> list[str]:
    return [normalise_text(t, params) for t in texts]


def normalise_documents(documents: pd.DataFrame, params: Mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    out = documents.copy()
    out["text"] = map_chunks(normalise_all, out["text"].tolist(), params.get("workers", 1), params)
    return drop_rows(out, out["text"].str.len() == 0, "dropped:normalise:empty_after_normalisation")
