"""Chinese quality rules: character-level counterparts of the Gopher / C4 / FineWeb rules.

English rules count whitespace-separated words; Chinese has none, and Chinese "words" average
under 3 characters, so Gopher's word rules would drop every Chinese document. These rules
count characters instead. Their thresholds are derived from the real corpora by
`benchmarks/derive_quality_thresholds.py` (method there; values in
`benchmarks/results/quality_thresholds.json` and `conf/base/parameters_quality.yml`).
Only ever called on documents labelled `zh`. Lines carrying web boilerplate (copyright, ICP
licence, nav links, repost notices) are removed first; that shortened text is judged and kept.

Rules run in a fixed order and the first failure names the drop (`zh_<feature>`).
Line rules need `line_rules_min_lines` lines and repetition rules `repetition_min_chars`
characters: one textbook heading or a one-line patient question is too short for line
statistics to mean anything.
"""
from __future__ import annotations

import re
from functools import lru_cache

from domainforge.curation.quality.rule_checks import first_failure, ngram_rules, scope_applies, threshold_rules
from domainforge.curation.quality.text_features import (
    DIGIT_RE,
    HAN_RE,
    NON_ALNUM_RE,
    SYMBOL_RE,
    WHITESPACE_RE,
    RepeatedNgrams,
    count,
    find_duplicates,
    tidy_lines,
)

# Sentence and clause punctuation, full- and half-width.
PUNCT_RE = re.compile(r"[，。、；：！？,.;:!?…]")
LINE_END_PUNCTUATION = tuple("。！？…；：”’」』）)】.!?;:\"'")
# Whitespace (with or without a menu separator) between two Han characters: word lists and
# menus ("首页 · 疾病百科 | 找医生"), not prose.
SPACED_HAN_RE = re.compile(
    f"(?<=[{HAN_RE.pattern[1:-1]}])[ \t\u3000]+(?:[·•|/>»][ \t\u3000]*)?(?=[{HAN_RE.pattern[1:-1]}])"
)
PARAGRAPH_RE = re.compile(r"\n\s*\n")

# (rule name, feature, "min" or "max", parameter key, scope) in the order they are checked.
# Scopes: "doc" always applies; "punct" needs `punct_rule_min_chars` characters, "lines" needs
# `line_rules_min_lines` lines, "ngram" needs `repetition_min_chars` characters.
RULES = [
    ("zh_min_chars", "chars", "min", "min_chars", "doc"),
    ("zh_max_chars", "chars", "max", "max_chars", "doc"),
    ("zh_han_ratio", "han_ratio", "min", "min_han_ratio", "doc"),
    ("zh_symbol_ratio", "symbol_ratio", "max", "max_symbol_ratio", "doc"),
    ("zh_digit_ratio", "digit_ratio", "max", "max_digit_ratio", "doc"),
    ("zh_spaced_han_ratio", "spaced_han_ratio", "max", "max_spaced_han_ratio", "doc"),
    ("zh_flagged_words", "flagged_char_ratio", "max", "max_flagged_char_ratio", "doc"),
    ("zh_punct_density", "punct_per_han", "min", "min_punct_per_han", "punct"),
    ("zh_line_end_punct", "line_end_punct_frac", "min", "min_line_end_punct_frac", "lines"),
    ("zh_short_lines", "short_line_frac", "max", "max_short_line_frac", "lines"),
    ("zh_dup_line_frac", "dup_line_frac", "max", "max_dup_line_frac", "lines"),
    ("zh_dup_line_char_frac", "dup_line_char_frac", "max", "max_dup_line_char_frac", "lines"),
    ("zh_dup_para_frac", "dup_para_frac", "max", "max_dup_para_frac", "lines"),
    ("zh_dup_para_char_frac", "dup_para_char_frac", "max", "max_dup_para_char_frac", "lines"),
]


def prepare(text: str, params: dict) -> str:
    """Tidy the lines and drop those carrying web boilerplate markers (copyright, ICP licence,
    nav links, repost notices): the text the rules judge and the text that is kept."""
    text = tidy_lines(text)
    boilerplate = _pattern(tuple(params["boilerplate_line_patterns"]))
    if not boilerplate.search(text):
        return text
    return "\n".join(line for line in text.split("\n") if not boilerplate.search(line)).strip()


@lru_cache(maxsize=8)
def _pattern(phrases: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(map(re.escape, phrases)), re.IGNORECASE)


def features(text: str, params: dict) -> dict[str, float]:
    """Every statistic a Chinese rule looks at; also what the threshold derivation measures."""
    dense = WHITESPACE_RE.sub("", text)
    chars = len(dense) or 1
    han = count(HAN_RE, dense)
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    paragraphs = [p.strip() for p in PARAGRAPH_RE.split(text) if p.strip()]
    flagged = sum(dense.count(word) * len(word) for word in params["flagged_words"])
    stats = {
        "chars": len(dense),
        "han_ratio": han / chars,
        "symbol_ratio": count(SYMBOL_RE, dense) / chars,
        "digit_ratio": count(DIGIT_RE, dense) / chars,
        "spaced_han_ratio": count(SPACED_HAN_RE, text) / (han or 1),
        "flagged_char_ratio": flagged / chars,
        "punct_per_han": count(PUNCT_RE, dense) / (han or 1),
        "lines": len(lines),
        "line_end_punct_frac": sum(line.endswith(LINE_END_PUNCTUATION) for line in lines) / (len(lines) or 1),
        "short_line_frac": sum(len(line) <= params["short_line_chars"] for line in lines) / (len(lines) or 1),
    }
    dup_lines, dup_line_chars = find_duplicates(lines)
    dup_paras, dup_para_chars = find_duplicates(paragraphs)
    stats.update(
        dup_line_frac=dup_lines / (len(lines) or 1),
        dup_line_char_frac=dup_line_chars / chars,
        dup_para_frac=dup_paras / (len(paragraphs) or 1),
        dup_para_char_frac=dup_para_chars / chars,
    )
    # Character n-grams over letters and digits only: punctuation would dilute the counts.
    stats.update(RepeatedNgrams(NON_ALNUM_RE.sub("", dense)).fractions(params, chars, joiner=""))
    return stats


def rules(params: dict) -> list[tuple[str, str, str, float, str]]:
    """(name, feature, "min"/"max", threshold, scope) for every rule, in checking order."""
    return threshold_rules(RULES, params) + ngram_rules(params, "zh", "ngram")


# Rule scope -> (statistic, parameter giving its minimum); "doc" always applies.
SCOPES = {
    "punct": ("chars", "punct_rule_min_chars"),
    "lines": ("lines", "line_rules_min_lines"),
    "ngram": ("chars", "repetition_min_chars"),
}


def applies(scope: str, stats: dict[str, float], params: dict) -> bool:
    return scope_applies(SCOPES, scope, stats, params)


def check_chinese(text: str, params: dict) -> tuple[str, str | None]:
    """(text to keep, first failing rule or None); boilerplate lines come back removed."""
    text = prepare(text, params)
    if not text:
        return "", "zh_empty_after_line_filter"
    return text, first_failure(features(text, params), rules(params), lambda scope, stats: applies(scope, stats, params))
