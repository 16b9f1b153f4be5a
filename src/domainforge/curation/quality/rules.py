"""Heuristic quality filtering: content-type rules for every document (is it prose at all?
domainforge.curation.quality.content_type), then the prose rules chosen by its `lang`.

`en` documents get the FineWeb recipe (quality_rules_en), `zh` documents the character-level
rules (quality_rules_zh); no rule of one language ever sees the other's text. Line rules may
shorten a document (C4 line removal, Chinese boilerplate lines); the shortened text is what is
kept. Each dropped document names its first failing rule: `dropped:quality:<rule>`.
Documents are judged one by one, so any engine and batch size give the same result.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import pandas as pd

from domainforge.curation.engine import IN_PROCESS
from domainforge.curation.quality.content_type import check_content
from domainforge.curation.quality.rules_en import check_english
from domainforge.curation.quality.rules_zh import check_chinese
from domainforge.curation.stage import DROP, Stage, run_stage
from domainforge.typed_settings import from_params

CHECKS = {"en": check_english, "zh": check_chinese}


@dataclass(frozen=True)
class ContentRules:
    """`quality.content`: the content-type rules (content_type.py) every document is judged by
    first. The thresholds have no defaults: they are derived from real corpora by
    benchmarks/derive_quality_thresholds.py and written once, in parameters_quality.yml."""

    line_rules_min_lines: int  # line-share rules judge documents of at least this many (non-empty) lines
    char_rules_min_chars: int  # character-share rules judge documents of at least this many characters
    word_list_max_tokens: int  # a word-list line: `term`, `term 123`, `term 123 n` ...
    word_list_max_chars: int  # ... no longer than this, without sentence punctuation
    max_code_line_frac: float
    max_markup_line_frac: float
    max_markup_char_frac: float
    max_css_char_frac: float
    max_code_symbol_ratio: float
    max_blob_char_frac: float
    max_numeric_line_frac: float
    max_delimiter_regularity: float
    max_word_list_line_frac: float


@dataclass(frozen=True)
class ReflowSettings:
    """`quality.en.reflow`: hard-wrapped paragraphs joined before the line rules."""

    enabled: bool
    min_wrapped_line_chars: int  # a line this long that ends without punctuation was wrapped
    min_wrapped_share: float  # share of a paragraph's lines that must look wrapped


@dataclass(frozen=True)
class EnglishRules:
    """`quality.en`: the FineWeb recipe (Gopher, C4, FineWeb rules; rules_en.py). Thresholds as in
    ContentRules: in parameters_quality.yml, with where each comes from."""

    reflow: ReflowSettings
    c4_min_words_per_line: int  # C4 line removal: lines with fewer words go
    c4_max_word_length: int  # C4 line removal: lines with a longer word go
    boilerplate_line_patterns: tuple[str, ...]  # lines containing any of these (lower case) are removed before the rules
    flagged_words: tuple[str, ...]  # spam words, judged by their share (whole words in English, characters in Chinese)
    fineweb_short_line_chars: int  # a line this short counts as short (max_short_line_frac)
    long_doc_words: int  # n-gram repetition and stop-word rules judge documents of at least this many words
    line_rules_min_lines: int  # line-share rules judge documents of at least this many (non-empty) lines
    top_ngram_max_frac: tuple[tuple[int, float], ...]  # (n, max share of characters in the most frequent n-gram)
    dup_ngram_max_frac: tuple[tuple[int, float], ...]  # (n, max share of characters in duplicated n-grams)
    min_doc_words: float
    max_doc_words: float
    min_avg_word_length: float
    max_avg_word_length: float
    max_hash_per_word: float
    max_ellipsis_per_word: float
    max_bullet_lines_frac: float
    max_ellipsis_lines_frac: float
    min_alpha_words_frac: float
    min_stop_words: float
    max_dup_para_frac: float
    max_dup_para_char_frac: float
    max_dup_line_frac: float
    max_dup_line_char_frac: float
    max_lorem_ipsum: float
    max_curly_bracket: float
    max_flagged_word_frac: float
    min_sentences: float
    min_sentence_ends: float
    min_line_punct_frac: float
    max_short_line_frac: float
    max_line_dup_char_frac: float
    max_newlines_per_word: float


@dataclass(frozen=True)
class ChineseRules:
    """`quality.zh`: character-level rules for Chinese (rules_zh.py); thresholds in
    parameters_quality.yml."""

    boilerplate_line_patterns: tuple[str, ...]  # lines containing any of these (lower case) are removed before the rules
    flagged_words: tuple[str, ...]  # spam words, judged by their share (whole words in English, characters in Chinese)
    short_line_chars: int  # a line this short counts as short (max_short_line_frac)
    line_rules_min_lines: int  # line-share rules judge documents of at least this many (non-empty) lines
    punct_rule_min_chars: int  # punctuation rules judge documents of at least this many characters
    repetition_min_chars: int  # repetition rules judge documents of at least this many characters
    top_ngram_max_frac: tuple[tuple[int, float], ...]  # (n, max share of characters in the most frequent n-gram)
    dup_ngram_max_frac: tuple[tuple[int, float], ...]  # (n, max share of characters in duplicated n-grams)
    min_chars: float
    max_chars: float
    min_han_ratio: float
    max_symbol_ratio: float
    max_digit_ratio: float
    max_spaced_han_ratio: float
    max_flagged_char_ratio: float
    min_punct_per_han: float
    min_line_end_punct_frac: float
    max_short_line_frac: float
    max_dup_line_frac: float
    max_dup_line_char_frac: float
    max_dup_para_frac: float
    max_dup_para_char_frac: float


@dataclass(frozen=True)
class QualitySettings:
    """`quality`: content-type rules, then the rules of each document's language."""

    content: ContentRules
    en: EnglishRules
    zh: ChineseRules


def quality_settings(params: Mapping | QualitySettings) -> QualitySettings:
    return from_params(QualitySettings, params, "quality")


def check_text(text: str, lang: str, params: dict) -> tuple[str, str | None]:
    """(possibly shortened text, first failing rule or None) for one document in `lang`."""
    if lang not in CHECKS or lang not in params:
        return text, f"no_rules_for_{lang}"
    content_failure = check_content(text, params["content"])
    if content_failure:
        return text, content_failure
    return CHECKS[lang](text, params[lang])


def judge_quality(batch: pd.DataFrame, params: Mapping | QualitySettings) -> pd.DataFrame:
    if "lang" not in batch.columns:
        raise ValueError("filter_quality needs a `lang` column: run detect_language first")
    # The rule tables look thresholds up by key name: the checked settings as a mapping.
    params = asdict(quality_settings(params))
    out = batch.copy()
    results = [check_text(text, lang, params) for text, lang in zip(out["text"], out["lang"])]
    out["text"] = [text for text, _ in results]
    out[DROP] = [failed or "" for _, failed in results]
    return out


STAGE = Stage("quality", judge=judge_quality)


def filter_quality(documents: pd.DataFrame, params: Mapping | QualitySettings, runtime=IN_PROCESS):
    """Keep documents that pass their language's rules; the rest go to drops with the rule name."""
    return run_stage(STAGE, documents, quality_settings(params), runtime)
