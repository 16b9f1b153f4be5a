"""The Unicode ranges of the scripts DomainForge tells apart, defined once for curation,
retrieval and evaluation.

Han covers the CJK Unified Ideographs (basic block, extensions A to H) and the compatibility
ideographs: rare characters of medical and legal text (e.g. in drug and place names) sit in the
extensions, and a range that stopped at U+9FFF would count them as non-Chinese.
"""
from __future__ import annotations

import re

HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
KANA_RANGES = "\u3040-\u30ff\u31f0-\u31ff"
HANGUL_RANGES = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"

HAN_RE = re.compile(f"[{HAN_RANGES}]")
HAN_RUN_RE = re.compile(f"[{HAN_RANGES}]+")
KANA_RE = re.compile(f"[{KANA_RANGES}]")
HANGUL_RE = re.compile(f"[{HANGUL_RANGES}]")


def is_han(char: str) -> bool:
    return HAN_RE.fullmatch(char) is not None
