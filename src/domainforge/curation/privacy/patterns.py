"""Structured PII: numbers (ID cards, phones, bank cards, SSNs), emails, URLs with user info, IP
addresses, passports and labelled record numbers.

Boundaries are explicit look-arounds on ASCII letters and digits, never `\\b`: in Python a Chinese
character is a word character, so `\\b` fails in `电话13812345678` and a glued number would slip.
"""
from __future__ import annotations

import re
import string

from domainforge.curation.privacy.types import PiiSpan
from domainforge.curation.privacy.validators import (
    bank_card_valid,
    cn_area_code_length,
    cn_id15_valid,
    cn_id18_valid,
    cn_mobile_valid,
    ipv4_valid,
    ipv6_valid,
    nanp_valid,
    ssn_valid,
)

# A run of digit groups joined by one separator each (space, hyphen, dot, parentheses), with an
# optional leading + and a trailing X (ID check character). Each run is then split into groups and
# every window of consecutive groups is checked against the identifier rules, so a phone number
# run together with a neighbouring count ("13812345678 2次") is still found, and no group is ever
# split (a longer digit string is never read as containing a phone).
# Speed: each branch starts with the character it consumes and checks the one before it afterwards
# (`\d(?<![0-9A-Za-z+]\d)`), because a pattern that begins with a look-behind loses the regex
# engine's fast skip to candidate characters; the look-ahead drops runs shorter than the shortest
# identifier (9 characters) inside the engine rather than in Python.
_NUMBER_RUN = re.compile(
    r"(?:\+(?<![0-9A-Za-z+]\+) ?(?:\(\d{1,4}\) ?)?\d|\((?<![0-9A-Za-z+]\()\d{1,4}\) ?\d|\d(?<![0-9A-Za-z+]\d))"
    r"(?=[\d \u00a0\-.()]{7})"
    r"(?:\d|[ \u00a0\-.](?=\(?\d)|\) ?(?=\d)|\((?=\d{1,4}\)))*"
    r"(?:[Xx](?![0-9A-Za-z]))?"
)
_GROUP = re.compile(r"\d+[Xx]?")
_EXTENSION = re.compile(r" ?(?:x|ext\.? ?|转 ?)\d{1,5}(?![0-9A-Za-z])")
_MAX_WINDOW = 6

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,63})@"
    r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62})(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
)
_URL_WITH_USER = re.compile(
    r"(?<![A-Za-z])[A-Za-z][A-Za-z0-9+.\-]{1,15}://[A-Za-z0-9\-._~!$&'*+,;=%:]+@[A-Za-z0-9\-._~:/?#@!$&*+,;=%]+"
)
_IPV4 = re.compile(r"\d(?<![0-9.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?![0-9]|\.\d)")
_IPV6_HINT = re.compile(r"::|:[0-9A-Fa-f]{1,4}:")
_IPV6 = re.compile(r"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Za-z:])")
_IP_LABEL = re.compile(r"(?i)\b(?:ip|ipv4|server|host|address)\b|IP地址|地址|服务器|主机")
# Chinese passports (E + 8 digits, E + letter + 7 digits, G + 8 digits) are distinctive enough
# on their own; other countries' numbers only count when labelled.
_CN_PASSPORT = re.compile(r"(?:E(?<![0-9A-Za-z]E)(?:[0-9]{8}|[A-HJ-NP-Z][0-9]{7})|G(?<![0-9A-Za-z]G)[0-9]{8})(?![0-9A-Za-z])")

# Labels that name the identifier after them. The value is replaced whatever its checksum says:
# a labelled number is an identifier even when it would not validate.
_LABELS = {
    "medical_record": (
        "病历号", "病案号", "住院号", "门诊号", "就诊卡号", "就诊号", "诊疗卡号", "病历编号", "住院编号", "MRN",
        "Medical Record Number", "Medical Record No", "Medical Record", "Admission Number", "Admission No",
        "Patient ID", "Hospital Number",
    ),
    "insurance": (
        "医保卡号", "医保号", "医保卡", "社保卡号", "社保号", "社会保障卡号", "医疗保险号", "保险单号", "保单号",
        "Insurance ID", "Insurance Number", "Insurance No", "Insurance Policy Number", "Member ID",
        "Policy Number", "Policy No", "Medicare Number", "Medicare ID", "Medicaid Number", "Medicaid ID",
    ),
    "id_card": ("身份证号码", "身份证号", "身份证", "公民身份号码"),
    "passport": ("护照号码", "护照号", "护照", "Passport Number", "Passport No", "Passport"),
    "bank_card": ("银行卡号", "银行卡", "信用卡号", "银行账号", "卡号", "Card Number", "Account Number", "Credit Card"),
    "ssn": ("SSN", "Social Security Number", "Social Security No"),
    "phone": ("联系电话", "手机号码", "手机号", "电话号码", "电话", "手机", "联系方式", "Tel", "Phone", "Mobile", "Cell"),
}
_LABEL_KIND = {phrase.lower(): kind for kind, phrases in _LABELS.items() for phrase in phrases}


def _label_pattern(phrase: str) -> str:
    pattern = re.escape(phrase).replace(r"\ ", r"\s+")
    # An English label must end at a word end ("Cell" is no label in "cells 1000000").
    return pattern + r"(?![A-Za-z])" if phrase.isascii() else pattern


_LABEL = re.compile(
    r"(?<![A-Za-z])(?:" + "|".join(_label_pattern(p) for p in sorted(_LABEL_KIND, key=len, reverse=True)) + ")",
    re.IGNORECASE,
)
_LABEL_VALUE = re.compile(
    r"(?:号码|号|编号|码)?\.?(?:\s*(?:No\.?|Number|#))?\s*(?:[:：=#]|是|为|is)?\s{0,3}"
    r"(?P<value>[A-Za-z]{0,4}-?[0-9](?:[A-Za-z0-9]|-(?=[0-9])| (?=[0-9]{2})){3,29})(?![A-Za-z0-9*]|[ \-]\*)",
    re.IGNORECASE,
)
# Every labelled value has 4+ digits, so labels are only looked for just before such digits: the
# label alternation is slow to run over whole texts, a digit scan is not.
_DIGIT_CLUSTER = re.compile(r"\d(?:[ \-]?\d){3,}")
_LABEL_REACH = 48  # longest label + its "号码：" suffix + a letter prefix of the value


def _label_kind(label: str) -> str:
    return _LABEL_KIND[re.sub(r"\s+", " ", label).lower()]


def find_labelled(text: str, kinds: frozenset) -> list[PiiSpan]:
    spans, searched = [], 0
    for cluster in _DIGIT_CLUSTER.finditer(text):
        low = max(searched, cluster.start() - _LABEL_REACH)
        searched = cluster.start()
        for label in _LABEL.finditer(text, low, cluster.start()):
            kind = _label_kind(label.group())
            match = _LABEL_VALUE.match(text, label.end())
            if kind not in kinds or not match:
                continue
            # Phones need 7+ digits, other identifiers 4+ (so "病历号为空" or "MRN: see above"
            # stay); a value running into * is a masked surrogate (138****5678) from an earlier pass.
            if sum(c.isdigit() for c in match.group("value")) < (7 if kind == "phone" else 4):
                continue
            spans.append(PiiSpan(match.start("value"), match.end("value"), kind))
    return spans


def _classify(groups: list[tuple[str, str, int, int]], plus: bool) -> str | None:
    """Identifier kind of a window of digit groups (text, separator before it, start, end)."""
    digits = "".join(g[0] for g in groups)
    lengths = [len(g[0]) for g in groups]
    seps = {g[1] for g in groups[1:]}
    if seps - {" ", "-", ".", "(", ")"}:
        return None
    dotted = "." in seps
    if dotted:  # only the US 555.123.4567 form uses dots; other dotted numbers are decimals/dates
        core = digits[1:] if lengths[0] == 1 else digits
        if seps == {"."} and lengths[-3:] == [3, 3, 4] and len(groups) <= 4 and nanp_valid(core[-10:]):
            return "phone"
        return None
    upper = digits.upper()
    if len(upper) == 18 and not plus and cn_id18_valid(upper):
        return "id_card"
    if "X" in upper:
        return None
    if len(digits) == 15 and lengths in ([15], [6, 6, 3]) and cn_id15_valid(digits):
        return "id_card"
    if not plus and (
        lengths in ([4, 4, 4, 4], [4, 6, 5], [4, 6, 4], [4, 4, 4, 4, 3], [4, 4, 4, 4, 2], [4, 4, 4, 4, 1], [4, 4, 4, 3])
        or len(groups) == 1
    ) and seps <= {" ", "-"} and bank_card_valid(digits):
        return "bank_card"
    if lengths == [3, 2, 4] and len(seps) == 1 and seps <= {"-", " "} and ssn_valid(*(g[0] for g in groups)):
        return "ssn"
    return _classify_phone(groups, digits, lengths, plus)


def _classify_phone(groups, digits: str, lengths: list[int], plus: bool) -> str | None:
    # Strip a country prefix: +86 / 0086 / 86 before a mobile, +1 / 1 / 001 before a NANP number.
    national, national_lengths = digits, lengths
    if plus or digits.startswith("00"):
        code_digits = digits[2:] if digits.startswith("00") else digits
        if code_digits.startswith("86") and (cn_mobile_valid(code_digits[2:]) or cn_area_code_length("0" + code_digits[2:])):
            return "phone" if 9 <= len(code_digits) - 2 <= 12 else None
        if code_digits.startswith("1") and nanp_valid(code_digits[1:]):
            return "phone"
        return "phone" if 8 <= len(code_digits) <= 15 and plus else None
    if lengths[0] == 2 and digits.startswith("86") or len(digits) == 13 and digits.startswith("86"):
        national = digits[2:]
        national_lengths = lengths[1:] if lengths[0] == 2 else [lengths[0] - 2] + lengths[1:]
    if cn_mobile_valid(national) and national_lengths in ([11], [3, 4, 4], [3, 8], [7, 4]):
        return "phone"
    area = cn_area_code_length(national)
    if area and (
        (len(national_lengths) == 1 and 10 <= len(national) <= 12)
        or (national_lengths[0] == area and national_lengths[1] in (7, 8) and len(national_lengths) <= 3
            and (len(national_lengths) < 3 or national_lengths[2] <= 4))
        or (national_lengths[0] == area and national_lengths[1:] in ([3, 4], [4, 4]))
    ):
        return "phone"
    us = digits[1:] if len(digits) == 11 and digits[0] == "1" else digits
    us_lengths = lengths[1:] if lengths[0] == 1 else lengths
    if us_lengths == [10] and len(lengths) == 1 and len(digits) == 11:
        return None  # 1 + ten digits glued: too often something else
    if nanp_valid(us) and us_lengths in ([10], [3, 3, 4], [3, 7]):
        return "phone"
    if len(digits) == 13 and digits.startswith("001") and nanp_valid(digits[3:]):
        return "phone"
    return None


def _separator(between: str) -> str:
    """One symbol for what joins two digit groups: '(' ')' '-' '.' ' ' or '' (glued)."""
    for symbol in "()-.":
        if symbol in between:
            return symbol
    return " " if between else ""


def _groups(text: str, start: int, end: int) -> list[tuple[str, str, int, int]]:
    groups, previous_end = [], start
    for match in _GROUP.finditer(text, start, end):
        groups.append((match.group(), _separator(text[previous_end:match.start()]), match.start(), match.end()))
        previous_end = match.end()
    return groups


def find_numbers(text: str, kinds: frozenset) -> list[PiiSpan]:
    """ID cards, bank cards, SSNs and phone numbers among the text's digit runs."""
    spans = []
    for run in _NUMBER_RUN.finditer(text):
        run_start, run_end = run.span()
        if run_end - run_start < 9:
            continue
        plus = text[run_start] == "+"
        groups = _groups(text, run_start, run_end)
        i = 0
        while i < len(groups):
            span = _longest_identifier(text, groups, i, run_start, plus, kinds)
            if span is None:
                i += 1
            else:
                spans.append(span[0])
                i = span[1]
    return spans


def _brackets_paired(text: str, window: list[tuple[str, str, int, int]]) -> bool:
    """A ")" inside a number may only close an area or country code opened by "(" right before it:
    in "010-12345678) 2次" the bracket ends a parenthetical, and the 2 after it is a count."""
    return all(
        group[1] != ")" or (text[previous[2] - 1:previous[2]] == "(" and len(previous[0]) <= 4)
        for previous, group in zip(window, window[1:])
    )


def _longest_identifier(text, groups, i, run_start, plus, kinds) -> tuple[PiiSpan, int] | None:
    """The longest window of groups starting at group i that is an identifier, and its end index."""
    for j in range(min(len(groups), i + _MAX_WINDOW), i, -1):
        window = groups[i:j]
        if sum(len(g[0]) for g in window) < 9:
            return None
        # A window that starts or ends inside a dotted number (a decimal, a date) is no identifier.
        if ((i > 0 and groups[i][1] == ".") or (j < len(groups) and groups[j][1] == ".")) and not (
            i == 0 and j == len(groups)
        ):
            continue
        if not _brackets_paired(text, window):
            continue
        kind = _classify(window, plus and i == 0)
        if kind is None or kind not in kinds:
            continue
        start = run_start if i == 0 else window[0][2]
        if text[start - 1:start] == "(" and len(window) > 1 and window[1][1] == ")":
            start -= 1  # "(0531)7840111": the bracketed area code belongs to the number
        end = window[-1][3]
        if kind == "phone":
            extension = _EXTENSION.match(text, end)
            if extension:
                end = extension.end()
        return PiiSpan(start, end, kind), j
    return None


def find_emails(text: str) -> list[PiiSpan]:
    if "@" not in text:
        return []
    return [PiiSpan(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]


def find_urls_with_user(text: str) -> list[PiiSpan]:
    if "://" not in text or "@" not in text:
        return []
    spans = []
    for match in _URL_WITH_USER.finditer(text):
        url = match.group().rstrip(".,;:!?")  # sentence punctuation after a URL is not part of it
        spans.append(PiiSpan(match.start(), match.start() + len(url), "url"))
    return spans


def find_ips(text: str) -> list[PiiSpan]:
    spans = []
    if "." in text:
        for match in _IPV4.finditer(text):
            value = match.group()
            if not ipv4_valid(value):
                continue
            # Section numbers (2.1.3.1) look like addresses; three one-digit parts need a label.
            if sum(len(p) == 1 for p in value.split(".")) >= 3 and not _IP_LABEL.search(
                text, max(0, match.start() - 12), match.start()
            ):
                continue
            spans.append(PiiSpan(match.start(), match.end(), "ip"))
    if ":" in text:
        # Run the IPv6 pattern only around "::" or ":hex:" (it is slow on ordinary English text).
        searched = 0
        for hint in _IPV6_HINT.finditer(text):
            if hint.start() < searched:
                continue
            start = hint.start()
            while start > 0 and (text[start - 1] == ":" or text[start - 1] in string.hexdigits):
                start -= 1
            match = _IPV6.match(text, start)
            searched = hint.end()
            if match and sum(c != ":" for c in match.group()) >= 3 and ipv6_valid(match.group()):
                spans.append(PiiSpan(match.start(), match.end(), "ip"))
                searched = match.end()
    return spans


def find_passports(text: str) -> list[PiiSpan]:
    return [PiiSpan(m.start(), m.end(), "passport") for m in _CN_PASSPORT.finditer(text)]
