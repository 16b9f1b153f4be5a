"""Which cloze prompt a benchmark gets: Chinese (`答案：`) or English (`Answer:`).

The language is that of the whole file, from the share of Han characters among its letters
(Han + Latin), so a Chinese question with Latin abbreviations (CT, HbA1c) stays Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from domainforge.unicode_scripts import HAN_RE

HAN = HAN_RE
LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
MIN_HAN_SHARE = 0.3

# language -> (context template (Jinja, rendered by lm-eval), delimiter before each option text)
PROMPTS = {
    "zh": ("{{question}}\n答案：", ""),
    "en": ("{{question}}\nAnswer:", " "),
}


def han_share(text: str) -> float:
    """Han characters / (Han + Latin letters); 0.0 for text with neither."""
    han = len(HAN.findall(text))
    latin = len(LATIN.findall(text))
    return han / (han + latin) if han + latin else 0.0


def detect_language(records: Iterable[dict]) -> str:
    """`zh` if Han characters are at least `MIN_HAN_SHARE` of the letters of questions and options."""
    text = "\n".join(
        record["question"] + "\n" + "\n".join(record["options"].values()) for record in records
    )
    return "zh" if han_share(text) >= MIN_HAN_SHARE else "en"
