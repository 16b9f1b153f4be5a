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

from domainforge.unicode_scripts import HAN_RANGES, HAN_RE, HANGUL_RE, KANA_RE  # noqa: F401 (re-exported)

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


class RepeatedNgrams:
    """The n-grams of `tokens` (a string of characters, or a list of words) that occur more than
    once, for n = 1, 2, ... in turn; what the Gopher repetition statistics look at.

    An n-gram repeats only where the (n-1)-grams at its position and the next one both repeat,
    so level n is built from level n-1 alone and quickly shrinks to nothing on ordinary text;
    n-grams are numbered per level, so no long tuple is ever built or hashed.
    """

    def __init__(self, tokens: Sequence[str]):
        self.tokens = tokens
        counts = Counter(tokens)
        # levels[n - 1]: ({position: n-gram id} of repeated n-grams in position order, {id: count})
        self.levels = [self._repeated({i: t for i, t in enumerate(tokens) if counts[t] > 1})]
        self._prefix: list[int] | None = None

    @staticmethod
    def _repeated(grams: dict) -> tuple[dict, Counter]:
        counts = Counter(grams.values())
        return {i: g for i, g in grams.items() if counts[g] > 1}, counts

    def level(self, n: int) -> tuple[dict, Counter]:
        while len(self.levels) < n:
            k = len(self.levels)  # extend k-grams to (k+1)-grams
            previous, ids = self.levels[-1][0], {}
            tokens = self.tokens
            grams = {
                i: ids.setdefault((g, tokens[i + k]), len(ids))
                for i, g in previous.items()
                if i + 1 in previous
            }
            self.levels.append(self._repeated(grams))
        return self.levels[n - 1]

    def chars(self, start: int, n: int) -> int:
        """Characters of the n tokens from `start` (no joiners)."""
        if isinstance(self.tokens, str):
            return n
        if self._prefix is None:
            self._prefix = [0, *accumulate(map(len, self.tokens))]
        return self._prefix[start + n] - self._prefix[start]

    def top_chars(self, n: int, joiner: str = " ") -> int:
        """Characters covered by the most frequent n-gram (its joined length times its count;
        the earliest one among equally frequent ones, as Counter.most_common picks it). A gram
        seen once is no repetition, so a text without any repeated n-gram scores 0."""
        positions, counts = self.level(n)
        best, best_count = None, 1
        for i, g in positions.items():
            if counts[g] > best_count:
                best, best_count = i, counts[g]
        if best is None:
            return 0
        joiners = 0 if isinstance(self.tokens, str) else len(joiner) * (n - 1)
        return (self.chars(best, n) + joiners) * best_count

    def duplicated_chars(self, n: int) -> int:
        """Characters inside n-grams that repeat an earlier n-gram, as datatrove's
        `find_all_duplicate` counts them: scanning left to right, a repeat counts its characters
        and the scan jumps past it, so overlapping repeats count once. Only positions of repeated
        n-grams can change the result, so the scan visits nothing else."""
        seen: set[int] = set()
        repeated = skip_until = 0
        for i, g in self.level(n)[0].items():
            if i < skip_until:
                continue
            if g in seen:
                repeated += self.chars(i, n)
                skip_until = i + n
            else:
                seen.add(g)
        return repeated

    def fractions(self, params: dict, chars: int, joiner: str = " ") -> dict[str, float]:
        """Gopher's repetition statistics as shares of `chars`: `top_<n>_gram_frac` for every n of
        params["top_ngram_max_frac"], `dup_<n>_gram_frac` for every n of params["dup_ngram_max_frac"]."""
        stats = {f"top_{n}_gram_frac": self.top_chars(n, joiner) / chars for n, _ in params["top_ngram_max_frac"]}
        stats.update({f"dup_{n}_gram_frac": self.duplicated_chars(n) / chars for n, _ in params["dup_ngram_max_frac"]})
        return stats
