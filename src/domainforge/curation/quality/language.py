"""Language identification: langdetect, seeded, behind two cheap rules that decide the clear cases.

langdetect alone mislabels Chinese: its Korean and Japanese profiles also contain Han
characters, so plain Chinese paragraphs come back as `ko` surprisingly often, and mixed zh/en
medical text ("HBV携带者…") splits its probability between `zh-cn` and `en` and falls below
any sensible confidence bar. So, in order:
1. Script rule: a text with no kana or hangul whose tokens (each Han character and each Latin
   word counts one) are at least `cjk_token_share_for_zh` Han is Chinese.
2. Function-word rule: a text written only in Latin letters, with at least `en_min_words` words
   of which at least `en_function_word_share` are English function words, is English. English
   prose sits at 0.2-0.5 (MedQuAD: 0.5th percentile 0.19); French, German, Spanish, Dutch,
   Italian stay below 0.08. It spares langdetect's slow random walk (~3 ms a document) on
   the bulk of English text; set the share to null to send every Latin text to langdetect.
3. langdetect with a fixed seed, `zh-cn` / `zh-tw` folded into `zh`, held to `min_confidence`.

`lang_score` is langdetect's probability, or the statistic of the rule that decided (Han share
of tokens; English function-word share of words), which that rule's own threshold admitted.
Every document is identified on its own (langdetect is re-seeded per document), so any engine
and batch size give the same result.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from domainforge.curation.engine import IN_PROCESS
from domainforge.curation.quality.text_features import HAN_RE, HANGUL_RE, KANA_RE, LATIN_WORD_RE, count
from domainforge.curation.stage import DROP, Stage, run_stage
from domainforge.typed_settings import from_params

LANGUAGE_ALIASES = {"zh-cn": "zh", "zh-tw": "zh"}
# Frequent English function words that are not also common words of other Latin-script
# languages (no "a", "in", "die", "was", "will", "is"-like overlaps with Dutch/German...).
EN_FUNCTION_WORDS = frozenset(
    "the and of to that with for are this be by from have it which or as not can you your they their "
    "been has these may but at were should its also than other such more most".split()
)



@dataclass(frozen=True)
class LanguageSettings:
    """`language` (parameters_language.yml sets what a domain keeps)."""

    allowed: tuple[str, ...] = ("zh", "en")  # languages kept; others are dropped as `<lang>`
    seed: int = 0  # langdetect is random by default; a fixed seed labels every run identically
    min_confidence: float = 0.6  # minimum langdetect probability (after folding zh-cn/zh-tw into zh)
    # A text with no kana/hangul whose tokens (Han characters and Latin words) are at least this
    # Han is Chinese by script: keeps mixed zh/en medical text ("HBV携带者…") from being dropped.
    cjk_token_share_for_zh: float = 0.5
    # A Latin-only text of at least en_min_words words, this share of them English function words,
    # is English without langdetect (prose: 0.2-0.5; other Latin languages < 0.08). null: off.
    en_function_word_share: float | None = 0.15
    en_min_words: int = 20
    max_chars: int = 2000  # the rules and langdetect read at most this many characters of a document


def language_settings(params: Mapping | LanguageSettings) -> LanguageSettings:
    return from_params(LanguageSettings, params, "language")


@lru_cache(maxsize=4)
def _factory(seed: int) -> DetectorFactory:
    """A private, seeded langdetect factory (profiles load once; the global one stays untouched)."""
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.seed = seed
    return factory


# Letters (LETTER_RE) outside LATIN_WORD_RE's class. That class also holds two non-letters, × and
# ÷, so the Latin words' characters equal the text's letters exactly when these two counts
# agree: one scan that finds nothing on English text, instead of a list of every letter.
_NON_LATIN_LETTER_RE = re.compile(r"[^\W\d_A-Za-z\u00c0-\u024f]")


def english_function_word_share(text: str, min_words: int) -> float | None:
    """Share of English function words among the words of a Latin-only text (its Latin words
    hold all its letters); None when the text has letters of another script or fewer than
    `min_words` words."""
    words = LATIN_WORD_RE.findall(text)
    if len(words) < min_words or count(_NON_LATIN_LETTER_RE, text) != text.count("×") + text.count("÷"):
        return None
    return sum(word.lower() in EN_FUNCTION_WORDS for word in words) / len(words)


def identify(text: str, params: Mapping | LanguageSettings) -> tuple[str, float, bool]:
    """(language, score, confident) for one text; "unknown" when nothing can be detected."""
    params = language_settings(params)
    han = count(HAN_RE, text)
    kana = count(KANA_RE, text)
    hangul = count(HANGUL_RE, text)
    latin_words = count(LATIN_WORD_RE, text)
    if han + kana + hangul + latin_words == 0:
        return "unknown", 0.0, False
    if kana + hangul == 0 and han:
        share = han / (han + latin_words)
        if share >= params.cjk_token_share_for_zh:
            return "zh", round(share, 4), True
    if params.en_function_word_share is not None and han + kana + hangul == 0:
        english = english_function_word_share(text[: params.max_chars], params.en_min_words)
        if english is not None and english >= params.en_function_word_share:
            return "en", round(english, 4), True

    detector = _factory(params.seed).create()
    detector.append(text[: params.max_chars])
    try:
        ranked = detector.get_probabilities()
    except LangDetectException:  # no usable n-grams, e.g. only digits and punctuation
        return "unknown", 0.0, False
    probabilities: dict[str, float] = {}
    for guess in ranked:
        lang = LANGUAGE_ALIASES.get(guess.lang, guess.lang)
        probabilities[lang] = probabilities.get(lang, 0.0) + guess.prob
    lang, prob = max(probabilities.items(), key=lambda item: item[1])
    return lang, round(prob, 4), prob >= params.min_confidence


def judge_language(batch: pd.DataFrame, params: Mapping | LanguageSettings) -> pd.DataFrame:
    """Adds `lang` and `lang_score`; drop reasons: `<lang>` (detected but not allowed),
    `low_confidence`, `unknown` (no letters or no features)."""
    params = language_settings(params)
    allowed = set(params.allowed)
    out = batch.copy()
    detected = [identify(text, params) for text in out["text"]]
    out["lang"] = [lang for lang, _, _ in detected]
    out["lang_score"] = [score for _, score, _ in detected]
    out[DROP] = [
        "unknown" if lang == "unknown" else "low_confidence" if not confident else lang if lang not in allowed else ""
        for lang, _, confident in detected
    ]
    return out


def _load_profiles(params: Mapping | LanguageSettings) -> None:
    _factory(language_settings(params).seed)


STAGE = Stage("language", judge=judge_language, prepare=_load_profiles)


def detect_language(documents: pd.DataFrame, params: Mapping | LanguageSettings, runtime=IN_PROCESS):
    """(documents with `lang`/`lang_score`, drops `dropped:language:<reason>`)."""
    return run_stage(STAGE, documents, language_settings(params), runtime)
