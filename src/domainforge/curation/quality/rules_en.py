"""English quality rules: the statistics of the FineWeb recipe (Gopher quality + repetition, C4,
FineWeb), each compared with a threshold from `parameters_quality.yml` (`quality.en`).

References: Gopher (Rae et al. 2021, app. A), C4 (Raffel et al. 2020), FineWeb (Penedo et al.
2024), as implemented by datatrove (GopherQualityFilter, GopherRepetitionFilter,
C4QualityFilter with FineWeb's `filter_no_terminal_punct=False`, FineWebQualityFilter).
The thresholds are the published ones except where benchmarks/derive_quality_thresholds.py
found that the published value drops real medical records (it then derives one from the real
corpora, as for Chinese, and lists the deviation in benchmarks/results/quality_thresholds.json).
Only ever called on documents labelled `en`.

Before any statistic is taken the text is tidied, hard-wrapped paragraphs are re-flowed (a
newline every ~70 characters inside a sentence would fail every line rule), and C4's line rules
remove javascript, cookie/policy, citation-marker and too-short lines. That shortened text is
what is judged and kept.
"""
from __future__ import annotations

import re
from functools import lru_cache

from domainforge.curation.quality.rule_checks import first_failure, ngram_rules, scope_applies, threshold_rules
from domainforge.curation.quality.text_features import WORD_RE, RepeatedNgrams, find_duplicates, tidy_lines

STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
TERMINAL_PUNCTUATION = (".", "!", "?", "。", "！", "？", "．", "‼", "‽", "⁇", "⁈", "⁉")
C4_CITATION_RE = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
C4_POLICY_SUBSTRINGS = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
SENTENCE_END_MARK_RE = re.compile(r"[.!?][\"')\]]*(?=\s|$)")
PARAGRAPH_RE = re.compile(r"\n{2,}")
LINES_RE = re.compile(r"\n+")
# Whitespace words holding a letter or digit / a letter; stop words as whole words, any case.
REAL_WORD_RE = re.compile(r"\S*[^\W_]\S*")
ALPHA_WORD_RE = re.compile(r"\S*[^\W\d_]\S*")
STOP_WORD_RE = re.compile(r"(?<![^\W_])(?:" + "|".join(sorted(STOP_WORDS)) + r")(?![^\W_])", re.IGNORECASE)

# (rule name, feature, "min" or "max", parameter key, scope) in checking order. Scopes: "doc"
# always; "long" only documents of at least `long_doc_words` words (Gopher computed its
# statistics on documents of 50+ words: on a two-sentence answer one repeated disease name is
# "20% of the text"); "lines" only documents of at least `line_rules_min_lines` lines.
RULES = [
    ("gopher_short_doc", "words", "min", "min_doc_words", "doc"),
    ("gopher_long_doc", "words", "max", "max_doc_words", "doc"),
    ("gopher_min_avg_word_length", "mean_word_length", "min", "min_avg_word_length", "doc"),
    ("gopher_max_avg_word_length", "mean_word_length", "max", "max_avg_word_length", "doc"),
    ("gopher_too_many_hashes", "hash_per_word", "max", "max_hash_per_word", "doc"),
    ("gopher_too_many_ellipsis", "ellipsis_per_word", "max", "max_ellipsis_per_word", "doc"),
    ("gopher_too_many_bullets", "bullet_lines_frac", "max", "max_bullet_lines_frac", "doc"),
    ("gopher_too_many_end_ellipsis", "ellipsis_lines_frac", "max", "max_ellipsis_lines_frac", "doc"),
    ("gopher_below_alpha_threshold", "alpha_words_frac", "min", "min_alpha_words_frac", "doc"),
    ("gopher_few_stop_words", "stop_words", "min", "min_stop_words", "long"),
    ("gopher_dup_para_frac", "dup_para_frac", "max", "max_dup_para_frac", "doc"),
    ("gopher_dup_para_char_frac", "dup_para_char_frac", "max", "max_dup_para_char_frac", "doc"),
    ("gopher_dup_line_frac", "dup_line_frac", "max", "max_dup_line_frac", "doc"),
    ("gopher_dup_line_char_frac", "dup_line_char_frac", "max", "max_dup_line_char_frac", "doc"),
    ("c4_lorem_ipsum", "lorem_ipsum", "max", "max_lorem_ipsum", "doc"),
    ("c4_curly_bracket", "curly_bracket", "max", "max_curly_bracket", "doc"),
    ("c4_badwords", "flagged_word_frac", "max", "max_flagged_word_frac", "doc"),
    ("c4_too_few_sentences", "sentences", "min", "min_sentences", "doc"),
    ("c4_no_terminal_punct", "sentence_ends", "min", "min_sentence_ends", "doc"),
    ("fineweb_line_punct_ratio", "line_punct_frac", "min", "min_line_punct_frac", "lines"),
    ("fineweb_short_line_ratio", "short_line_frac", "max", "max_short_line_frac", "lines"),
    ("fineweb_char_dup_ratio", "line_dup_char_frac", "max", "max_line_dup_char_frac", "doc"),
    ("fineweb_list_ratio", "newlines_per_word", "max", "max_newlines_per_word", "doc"),
]


@lru_cache(maxsize=8)
def _word_pattern(words: tuple[str, ...]) -> re.Pattern:
    """Whole-word, case-insensitive match of any of `words` ("cialis" must not match "specialist")."""
    return re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)


def _flagged_count(text: str, words: tuple[str, ...]) -> int:
    """Whole-word flagged-word matches. Most documents hold none of the words even as lower-case
    substrings, a check far cheaper than the regex scan; it is exact only for ASCII (the
    case-insensitive pattern also matches e.g. "ı" and "ſ" to "i" and "s"), so other text is scanned."""
    if text.isascii() and all(word.isascii() for word in words):
        lowered = text.lower()
        if not any(word.lower() in lowered for word in words):
            return 0
    return len(_word_pattern(words).findall(text))


def reflow(text: str, params: dict) -> str:
    """Join hard-wrapped lines of each paragraph; paragraphs that do not look wrapped stay as they are."""
    paragraphs = []
    for paragraph in PARAGRAPH_RE.split(text):
        lines = paragraph.split("\n")
        # A hard wrap falls inside a sentence: a line ending a sentence is a real line break.
        wrapped = [
            line for line in lines[:-1]
            if len(line) >= params["min_wrapped_line_chars"] and not line.endswith(TERMINAL_PUNCTUATION + (":",))
        ]
        if len(lines) > 1 and len(wrapped) >= params["min_wrapped_share"] * (len(lines) - 1):
            paragraph = " ".join(lines)
        paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


def c4_keep_line(line: str, params: dict) -> bool:
    """C4's line rules (doc-level ones, lorem ipsum and `{`, are features): False drops the line."""
    words = line.split()
    lowered = line.lower()
    return not (
        max(map(len, words), default=0) > params["c4_max_word_length"]
        or len(words) < params["c4_min_words_per_line"]
        or "javascript" in lowered
        or any(phrase in lowered for phrase in C4_POLICY_SUBSTRINGS)
        or any(phrase in lowered for phrase in params["boilerplate_line_patterns"])
    )


def prepare(text: str, params: dict) -> str:
    """Tidy, re-flow and C4-filter the lines: the text the rules judge and the text that is kept."""
    text = tidy_lines(text)
    if params["reflow"]["enabled"]:
        text = reflow(text, params["reflow"])
    paragraphs = []
    for paragraph in PARAGRAPH_RE.split(text):
        lines = [C4_CITATION_RE.sub("", line).strip() for line in paragraph.split("\n")]
        kept = [line for line in lines if line and c4_keep_line(line, params)]
        if kept:
            paragraphs.append("\n".join(kept))
    return "\n\n".join(paragraphs)


def features(text: str, params: dict) -> dict[str, float]:
    """Every statistic an English rule looks at; also what the threshold derivation measures."""
    words = text.split()  # whitespace words for Gopher's quality rules, as in the paper and RedPajama-V2
    n_words = len(words) or 1
    real_words = REAL_WORD_RE.findall(text)
    lines = [line for line in text.split("\n") if line.strip()]
    n_lines = len(lines) or 1
    paragraphs = PARAGRAPH_RE.split(text)
    chars = len(text) or 1
    stats = {
        "words": len(real_words),
        "mean_word_length": sum(map(len, real_words)) / (len(real_words) or 1),
        "hash_per_word": text.count("#") / n_words,
        "ellipsis_per_word": (text.count("...") + text.count("…")) / n_words,
        "bullet_lines_frac": sum(line.startswith(("•", "-")) for line in lines) / n_lines,
        "ellipsis_lines_frac": sum(line.endswith(("...", "…")) for line in lines) / n_lines,
        "alpha_words_frac": len(ALPHA_WORD_RE.findall(text)) / n_words,
        "stop_words": len({w.lower() for w in STOP_WORD_RE.findall(text)}),
        "lorem_ipsum": float("lorem ipsum" in text.lower()),
        "curly_bracket": float("{" in text),
        "flagged_word_frac": _flagged_count(text, tuple(params["flagged_words"])) / n_words,
        "sentences": sum(len([s for s in SENTENCE_END_RE.split(line) if s.strip()]) for line in lines),
        "sentence_ends": len(SENTENCE_END_MARK_RE.findall(text)),
        "lines": len(lines),
        "line_punct_frac": sum(line.endswith(TERMINAL_PUNCTUATION) for line in lines) / n_lines,
        "short_line_frac": sum(len(line) <= params["fineweb_short_line_chars"] for line in lines) / n_lines,
        "line_dup_char_frac": find_duplicates(lines)[1] / (len(text.replace("\n", "")) or 1),
    }
    dup, dup_chars = find_duplicates(paragraphs)
    stats["dup_para_frac"], stats["dup_para_char_frac"] = dup / len(paragraphs), dup_chars / chars
    all_lines = LINES_RE.split(text)
    dup, dup_chars = find_duplicates(all_lines)
    stats["dup_line_frac"], stats["dup_line_char_frac"] = dup / len(all_lines), dup_chars / chars
    # Gopher's repetition statistics use tokenizer words (punctuation split off), as datatrove does.
    tokens = WORD_RE.findall(text)
    stats["newlines_per_word"] = text.count("\n") / (len(tokens) or 1)
    stats.update(RepeatedNgrams(tokens).fractions(params, chars))
    return stats


def rules(params: dict) -> list[tuple[str, str, str, float, str]]:
    """(name, feature, "min"/"max", threshold, scope) for every rule, in checking order."""
    fixed = threshold_rules(RULES, params)
    # Gopher's order: line/paragraph repetition, then n-gram repetition; C4 and FineWeb after.
    after = next(i for i, rule in enumerate(fixed) if rule[0] == "gopher_dup_line_char_frac") + 1
    return fixed[:after] + ngram_rules(params, "gopher", "long") + fixed[after:]


# Rule scope -> (statistic, parameter giving its minimum); "doc" always applies.
SCOPES = {"long": ("words", "long_doc_words"), "lines": ("lines", "line_rules_min_lines")}


def applies(scope: str, stats: dict[str, float], params: dict) -> bool:
    return scope_applies(SCOPES, scope, stats, params)


def check_english(text: str, params: dict) -> tuple[str, str | None]:
    """(text to keep, first failing rule or None)."""
    text = prepare(text, params)
    if not text:
        return "", "c4_no_lines_left"
    return text, first_failure(features(text, params), rules(params), lambda scope, stats: applies(scope, stats, params))
