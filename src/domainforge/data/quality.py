"""Heuristic quality filtering: content-type rules for every document (is it prose at all?
domainforge.data.content_type), then the prose rules chosen by its `lang`.

`en` documents get the FineWeb recipe (quality_rules_en), `zh` documents the character-level
rules (quality_rules_zh); no rule of one language ever sees the other's text. Line rules may
shorten a document (C4 line removal, Chinese boilerplate lines); the shortened text is what is
kept. Each dropped document names its first failing rule: `dropped:quality:<rule>`.
Documents are judged one by one, so `workers` processes judge chunks of them (same result).
"""
from __future__ import annotations

import pandas as pd

from .content_type import check_content
from .parallel import map_chunks
from .quality_rules_en import check_english
from .quality_rules_zh import check_chinese
from .records import drop_rows

CHECKS = {"en": check_english, "zh": check_chinese}


def check_text(text: str, lang: str, params: dict) -> tuple[str, str | None]:
    """(possibly shortened text, first failing rule or None) for one document in `lang`."""
    if lang not in CHECKS or lang not in params:
        return text, f"no_rules_for_{lang}"
    content_failure = check_content(text, params["content"])
    if content_failure:
        return text, content_failure
    return CHECKS[lang](text, params[lang])


def check_texts(texts_and_langs: list[tuple[str, str]], params: dict) -> list[tuple[str, str | None]]:
    return [check_text(text, lang, params) for text, lang in texts_and_langs]


def filter_quality(documents: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep documents that pass their language's rules; the rest go to drops with the rule name."""
    if "lang" not in documents.columns:
        raise ValueError("filter_quality needs a `lang` column: run detect_language first")
    out = documents.copy()
    results = map_chunks(check_texts, list(zip(out["text"], out["lang"])), params.get("workers", 1), params)
    out["text"] = [text for text, _ in results]
    status = pd.Series(
        ["" if failed is None else f"dropped:quality:{failed}" for _, failed in results], index=out.index, dtype=object
    )
    return drop_rows(out, status != "", status)
