"""Script classes and repetition statistics shared by language ID and the quality rules.

The repetition helpers follow datatrove's Gopher implementation (Rae et al. 2021, table A1) so
the English rules reproduce the published numbers; the Chinese rules call them on characters.
"""
from __future__ import annotations

import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence
from itertools import accumulate

import numpy as np

HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAN_RE = re.compile(f"[{HAN_RANGES}]")
KANA_RE = re.compile("[\u3040-\u30ff\u31f0-\u31ff]")
HANGUL_RE = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
LATIN_WORD_RE = re.compile("[A-Za-z\u00c0-\u024f]+")
LETTER_RE = re.compile(r"[^\W\d_]")
DIGIT_RE = re.compile(r"[0-9０-９]")
WHITESPACE_RE = re.compile(r"\s+")
NON_ALNUM_RE = re.compile(r"[\W_]+")
# Words and runs of punctuation, like nltk's word tokenizer that datatrove uses for English.
WORD_RE = re.compile(r"\w+(?:['’\-]\w+)*|[^\w\s]+")


def _symbol_class() -> re.Pattern:
    """Every Unicode symbol (categories S*) plus ASCII markup characters that are punctuation
    by category but mark web debris, not prose: # * \\ _ @ & { } [ ] < > | ^ ="""
    ranges, start = [], None
    for code in range(sys.maxunicode + 1):
        is_symbol = unicodedata.category(chr(code)).startswith("S")
        if is_symbol and start is None:
            start = code
        elif not is_symbol and start is not None:
            ranges.append((start, code - 1))
            start = None
    parts = [re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges]
    return re.compile("[" + "".join(parts) + re.escape("#*\\_@&{}[]") + "]")


SYMBOL_RE = _symbol_class()


BLANK_LINES_RE = re.compile(r"\n{3,}")


def tidy_lines(text: str) -> str:
    """Strip every line and keep at most one blank line between paragraphs.

    Line statistics must not depend on indentation or on lines holding only spaces (scraped
    XML/HTML is full of both); paragraph breaks survive as one blank line.
    """
    return BLANK_LINES_RE.sub("\n\n", "\n".join(line.strip() for line in text.strip().split("\n")))


def count(pattern: re.Pattern, text: str) -> int:
    return len(pattern.findall(text))


def find_duplicates(items: Sequence[str]) -> tuple[int, int]:
    """(number of items that repeat an earlier one, characters in those repeats)."""
    seen: set[str] = set()
    dup_items = dup_chars = 0
    for item in items:
        if item in seen:
            dup_items += 1
            dup_chars += len(item)
        else:
            seen.add(item)
    return dup_items, dup_chars


def _ngrams(tokens: Sequence[str], n: int) -> list:
    """All n-grams: substrings when `tokens` is a string of characters, tuples of words otherwise."""
    if isinstance(tokens, str):
        return [tokens[i : i + n] for i in range(len(tokens) - n + 1)]
    return list(zip(*(tokens[k:] for k in range(n))))


def top_ngram_chars(tokens: Sequence[str], n: int, joiner: str = " ") -> int:
    """Characters covered by the most frequent n-gram (its joined length times its count).

    A gram seen once is no repetition, so a text without any repeated n-gram scores 0.
    """
    grams = _ngrams(tokens, n)
    counts = Counter(grams)
    if len(counts) == len(grams):
        return 0
    gram, freq = counts.most_common(1)[0]
    if freq < 2:
        return 0
    length = len(gram) if isinstance(gram, str) else sum(map(len, gram)) + len(joiner) * (n - 1)
    return length * freq


def duplicated_ngram_chars(tokens: Sequence[str], n: int) -> int:
    """Characters inside n-grams that repeat an earlier n-gram, as datatrove's `find_all_duplicate`
    counts them: scanning left to right, a repeat counts its characters and the scan jumps past
    it, so overlapping repeats count once.

    Only positions of n-grams occurring at least twice can change the result, so numpy finds
    those and the scan visits nothing else.
    """
    grams = _ngrams(tokens, n)
    if len(set(grams)) == len(grams):  # no repeat at all: the common case, decided at C speed
        return 0
    keys = np.fromiter(map(hash, grams), dtype=np.int64, count=len(grams))
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    positions = np.flatnonzero(counts[inverse] > 1)
    if not len(positions):
        return 0
    lengths = [1] * len(tokens) if isinstance(tokens, str) else list(map(len, tokens))
    prefix = [0, *accumulate(lengths)]
    seen: set[int] = set()
    repeated = skip_until = 0
    for i in positions.tolist():
        if i < skip_until:
            continue
        if keys[i] in seen:
            repeated += prefix[i + n] - prefix[i]
            skip_until = i + n
        else:
            seen.add(keys[i])
    return repeated
