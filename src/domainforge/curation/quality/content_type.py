"""Content-type rules: is this document prose at all, or code, markup, a table, a word list or
an encoded blob? Judged before either language's prose rules, for zh and en alike.

Web and document dumps are full of non-prose text that language ID and prose statistics let
through: Python whose docstrings read like English, Python modules of Chinese name tables,
stylesheets, CSV exports. The ideas are the published ones, generalised to lines and to both
scripts: C4's curly-bracket and RedPajama/FineWeb's line rules (share of lines of a kind),
Gopher's symbol-per-word and data-juicer's `special_characters` ratio (`code_symbol_ratio`).
Each line of the document is put in at most one class (code, markup, numeric, word list), so a
docstring's prose lines count as prose and do not rescue the code around them. Thresholds are
derived from the real corpora and real non-prose files by benchmarks/derive_quality_thresholds.py;
the rule that fails first names the drop (`dropped:quality:<rule>`), and CONTENT_TYPES maps
each rule to the content type the data report counts it under.

The text judged is the normalised one (lines stripped), before the language rules remove lines:
C4's line filter would remove most code lines (too few words) and hide what the document was.
"""
from __future__ import annotations

import re
from collections import Counter

from domainforge.curation.quality.rule_checks import first_failure, scope_applies, threshold_rules

# A line that only code writes: a statement keyword with code after it, a block opener, a
# statement end, an assignment, an annotated signature, a quoted list/dict entry, a comment
# marker of C-like languages, an interpreter prompt, a decorator, a preprocessor line.
_CODE_START = re.compile(
    "|".join(
        [
            r"(?:async\s+)?def\s+\w+\s*\(",
            r"class\s+\w+\s*[(:{]",
            r"(?:import\s+[\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+)*$|from\s+[\w.]+\s+import\s+[\w*(])",
            r"(?:if|elif|while|for|with|try|except|else|finally|switch|catch)\b[^。，]*:$",
            r"(?:return|raise|yield|assert|del|print|echo|throw)\b[^。，\s]*[\s(\[{'\"]\S*[^.。!?！？]$",
            r"(?:var|let|const|my|our|local|export|typedef|struct|enum|static|extern|package|use|sub|func|fn)\s+[\w$@%*]",
            r"(?:pass|break|continue|fi|done|esac|end|endif|\}|\};|\]|\]\)|\)|\)\)|\);|\),|\],|\},)$",
            r"[\w.$@\[\]'\"]+\s*(?:[-+*/%|&^]|<<|>>)?=(?!=)\s*\S",
            r"[\[({]?\s*(?:[ubrf]?(?:'[^']*'|\"[^\"]*\")\s*[,:]\s*)+(?:[ubrf]?(?:'[^']*'|\"[^\"]*\"))?\s*[\])}]?[,;]?$",
            r"(?://|/\*|\*/|\*\s*@\w+|#!|#\s*(?:include|define|ifn?def|if|endif|else|pragma|undef)\b|>>>|\.\.\.\s)",
            r"@[\w.]+(?:\(.*\))?$",
            r"[a-z_][a-z0-9_]*(?:[._-][a-z0-9_]+)+\s*[:=]\s",
        ]
    )
)
# What makes a line ending in `;` a statement, not a clause of a prose list.
_STATEMENT = re.compile(r"[=${}]|\w\(|->|::")
_RETURN_ANNOTATION = re.compile(r"\)\s*->\s*[\w\[\]., ]+:$")
_ANNOTATION = re.compile(r":\s*(?:int|str|float|bool|bytes|None|list|dict|tuple|Any)\s*[,)=]")
# Markup: tags and attributes, groff/man requests and font escapes, XML declarations; and the
# markup of documentation inside code: reST underlines, directives and fields, POD commands.
_TAG = re.compile(r"</?[A-Za-z][\w:.-]*(?:\s+[\w:.-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*\s*/?>|<!--.*?-->|<![A-Z]|<\?xml")
_GROFF = re.compile(r"^\.[A-Za-z]{1,2}(?:\s|$)|\\f[BIRP]")
_DOC_MARKUP = re.compile(
    r"([-=~^*#\"'`+])\1{2,}$|\.\. [\w:-]+::|:(?:param|type|returns?|rtype|raises?|class|func|meth|attr|mod)\b|"
    r"=(?:head\d|item|over|back|cut|pod|begin|end|for|encoding)\b"
)
# A continuation line of a C block comment (` * text`), counted only in text that has `/*`.
_C_COMMENT_LINE = re.compile(r"\*(?:\s|/|$)")
# A CSS rule block: `{` then `property:` (the selector before it is not counted).
_CSS_BLOCK = re.compile(r"\{\s*[-\w]+\s*:[^{}]*\}")
# Characters only code and markup use densely; `()` `/` `*` `&` `#` `+` `~` are left out because
# prose uses them (units, citations, dosages).
CODE_SYMBOLS = "{}[]<>=;_\\|$@^`"
_BLANKS = re.compile("_{3,}")
# Number-like tokens (`12.3`, `85%`, `1,234`, `-0.5e3`, `2019-03-12`) and table delimiters.
_NUMBER = re.compile(r"^[-+(]?(?:\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+)[%)]?$|^\d{1,4}(?:[-/:]\d{1,4})+$")
_DELIMITERS = (",", "\t", "|", ";")
_SENTENCE_PUNCT = re.compile(r"[。！？，、；：.!?,;:]")
_BULLET = ("-", "•", "*", "·", "◆", "●", "■", "□", "○")
# Encoded data: 32+ character runs of base64 (mixed case and digits: no word or URL path is like
# that) or of hex digits, and escaped byte lists.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{32,}={0,2}")
_HEX_RUN = re.compile(r"[0-9a-fA-F]+")
_RUN_CHARS = str.maketrans(dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", "a"))
_LONG_RUN = "a" * 32
_HEX_BYTES = re.compile(r"(?:\\x[0-9a-fA-F]{2}){8,}|(?:0x[0-9a-fA-F]{2,8}\s*,\s*){8,}")
_UPPER, _LOWER, _DIGIT = re.compile("[A-Z]"), re.compile("[a-z]"), re.compile("[0-9]")


def _is_base64(run: str) -> bool:
    return bool(_UPPER.search(run) and _LOWER.search(run) and _DIGIT.search(run))


def _numeric_line(digits: int, tokens: list[str]) -> bool:
    """At least half the tokens are numbers (a line with fewer digits than that is not)."""
    half = 0.5 * len(tokens)
    return len(tokens) >= 2 and digits >= half and sum(bool(_NUMBER.match(t)) for t in tokens) >= half


def _word_list_line(line: str, tokens: list[str], params: dict) -> bool:
    """`term`, `term 123`, `term 123 n`: short, no sentence punctuation, not a bullet item."""
    return (
        len(tokens) <= params["word_list_max_tokens"]
        and len(line) <= params["word_list_max_chars"]
        and not line.startswith(_BULLET)
        and not _SENTENCE_PUNCT.search(line)
    )


def _delimiter_regularity(lines: list[str]) -> float:
    """Largest share of lines that hold the same number (>= 2) of one delimiter: a CSV/TSV table."""
    best = 0
    for delimiter in _DELIMITERS:
        counts = [line.count(delimiter) for line in lines]
        if max(counts) >= 2:
            best = max([best] + [n for count, n in Counter(counts).items() if count >= 2])
    return best / len(lines)


def _line_class(line: str, params: dict, c_comments: bool) -> str | None:
    """"markup", "code", "numeric", "word_list" or None (prose); cheap tests first, since
    nearly every line of a real corpus is prose."""
    if (
        ("<" in line and _TAG.search(line))
        or ((line[0] == "." or "\\f" in line) and _GROFF.search(line))
        or _DOC_MARKUP.match(line)
    ):
        return "markup"
    if (
        line.endswith("{")
        or (line.endswith(";") and _STATEMENT.search(line))
        or (c_comments and _C_COMMENT_LINE.match(line))
        or _CODE_START.match(line)
        or ("->" in line and _RETURN_ANNOTATION.search(line))
        or (":" in line and _ANNOTATION.search(line))
    ):
        return "code"
    digits = sum(map(line.count, "0123456789"))
    if not digits and len(line) > params["word_list_max_chars"]:
        return None  # neither a numeric nor a word-list line: spare the tokenising
    tokens = line.replace(",", " ").replace(";", " ").replace("|", " ").split()
    if _numeric_line(digits, tokens):
        return "numeric"
    if _word_list_line(line, tokens, params):
        return "word_list"
    return None


def features(text: str, params: dict) -> dict[str, float]:
    """Every statistic a content-type rule looks at; also what the threshold derivation measures.
    Line shares are only computed where a line rule can apply (`line_rules_min_lines`)."""
    lines = [line for line in text.split("\n") if line.strip()]
    n_lines = len(lines) or 1
    dense_chars = len(text) - text.count(" ") - text.count("\n") or 1
    classes = dict.fromkeys(("code", "markup", "numeric", "word_list"), 0)
    line_rules = len(lines) >= params["line_rules_min_lines"]
    if line_rules:
        c_comments = "/*" in text or "*/" in text
        for line in lines:
            kind = _line_class(line, params, c_comments)
            if kind:
                classes[kind] += 1
    return {
        "chars": len(text),
        "lines": len(lines),
        "code_line_frac": classes["code"] / n_lines,
        "markup_line_frac": classes["markup"] / n_lines,
        "numeric_line_frac": classes["numeric"] / n_lines,
        "word_list_line_frac": classes["word_list"] / n_lines,
        "delimiter_regularity": _delimiter_regularity(lines) if line_rules else 0.0,
        "code_symbol_ratio": _code_symbols(text) / dense_chars,
        "markup_char_frac": sum(map(len, _TAG.findall(text))) / dense_chars if "<" in text else 0.0,
        "css_char_frac": sum(map(len, _CSS_BLOCK.findall(text))) / dense_chars if "{" in text else 0.0,
        "blob_char_frac": min(_blob_chars(text) / dense_chars, 1.0),
    }


def _code_symbols(text: str) -> int:
    """Code symbols, leaving out fill-in blanks (`____`) of forms and worksheets."""
    symbols = sum(map(text.count, CODE_SYMBOLS))
    return symbols - sum(map(len, _BLANKS.findall(text))) if "___" in text else symbols


def _blob_chars(text: str) -> int:
    """Characters in base64 and hex runs, and in escaped byte lists. Prose has no 32-character
    run of the base64 alphabet, which one translate and one substring test rule out cheaply."""
    chars = 0
    if _LONG_RUN in text.translate(_RUN_CHARS):
        chars = sum(len(run) for run in _BASE64_RUN.findall(text) if _is_base64(run) or _HEX_RUN.fullmatch(run))
    if "0x" in text or "\\x" in text:
        chars += sum(map(len, _HEX_BYTES.findall(text)))
    return chars


# (rule name, feature, "min" or "max", parameter key, scope), in checking order. Scopes: "doc"
# always; "lines" needs `line_rules_min_lines` lines (a one-line question has no line shares);
# "chars" needs `char_rules_min_chars` characters (a short answer with one "<" is no markup).
RULES = [
    ("code_lines", "code_line_frac", "max", "max_code_line_frac", "lines"),
    ("markup_lines", "markup_line_frac", "max", "max_markup_line_frac", "lines"),
    ("markup_tags", "markup_char_frac", "max", "max_markup_char_frac", "chars"),
    ("css_rules", "css_char_frac", "max", "max_css_char_frac", "chars"),
    ("code_symbols", "code_symbol_ratio", "max", "max_code_symbol_ratio", "chars"),
    ("encoded_blob", "blob_char_frac", "max", "max_blob_char_frac", "doc"),
    ("numeric_table", "numeric_line_frac", "max", "max_numeric_line_frac", "lines"),
    ("delimited_table", "delimiter_regularity", "max", "max_delimiter_regularity", "lines"),
    ("word_list", "word_list_line_frac", "max", "max_word_list_line_frac", "lines"),
]
# The content type each rule detects, for the data report.
CONTENT_TYPES = {
    "code_lines": "code",
    "code_symbols": "code",
    "markup_lines": "markup",
    "markup_tags": "markup",
    "css_rules": "markup",
    "encoded_blob": "encoded",
    "numeric_table": "table",
    "delimited_table": "table",
    "word_list": "word_list",
}
SCOPES = {"lines": ("lines", "line_rules_min_lines"), "chars": ("chars", "char_rules_min_chars")}


def rules(params: dict) -> list[tuple[str, str, str, float, str]]:
    return threshold_rules(RULES, params)


def applies(scope: str, stats: dict[str, float], params: dict) -> bool:
    return scope_applies(SCOPES, scope, stats, params)


def check_content(text: str, params: dict) -> str | None:
    """The first content-type rule `text` fails, or None when it reads as prose."""
    return first_failure(features(text, params), rules(params), lambda scope, s: applies(scope, s, params))
