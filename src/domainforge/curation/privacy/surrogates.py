"""Fake replacement values for the "surrogate" placeholder style.

They follow the conventions of de-identified Chinese and English records: masked numbers
(138****5678), 王某 / 王某某 names, initials (K. M.), 某市某区某路 addresses, example.* hosts. Every
surrogate is random (seeded, so the same value maps to the same fake within a document) but can
never be read as PII again, which keeps scrubbing idempotent in this style too.
"""
from __future__ import annotations

import random
import string

from domainforge.unicode_scripts import is_han

# (visible leading, visible trailing) characters of a masked identifier.
_MASK_KEEP = {
    "phone": (3, 4),
    "id_card": (6, 4),
    "bank_card": (4, 4),
    "ssn": (0, 4),
    "passport": (1, 3),
    "medical_record": (2, 2),
    "insurance": (2, 2),
}
_COMMON_SURNAMES = sorted(set("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵钱严覃武戴莫孔汤"))
_STREETS = ("Oak", "Maple", "Cedar", "Elm", "Pine", "Birch", "Willow", "Lake", "Hill", "Park")


def _mask(original: str, rng: random.Random, keep: tuple[int, int], keep_original: int = 0) -> str:
    """Randomise the digits and letters of `original` except its first `keep_original` ones, then
    mask all but the first/last `keep` ones with *."""
    chars = list(original)
    positions = [i for i, c in enumerate(chars) if c.isalnum()]
    for number, i in enumerate(positions):
        c = chars[i]
        if c.isdigit():
            chars[i] = c if number < keep_original else str(rng.randrange(10))
        elif c.isascii():
            chars[i] = rng.choice(string.ascii_uppercase if c.isupper() else string.ascii_lowercase)
    head, tail = keep
    for i in positions[head:len(positions) - tail]:
        chars[i] = "*"
    return "".join(chars)


def _chinese_name(original: str, rng: random.Random) -> str:
    return rng.choice(_COMMON_SURNAMES) + ("某某" if len(original) >= 3 else "某")


def _english_name(original: str, rng: random.Random) -> str:
    return " ".join(rng.choice(string.ascii_uppercase) + "." for _ in original.split())


def surrogate(kind: str, original: str, rng: random.Random) -> str:
    if kind in _MASK_KEEP:
        # A phone keeps its first three digits (carrier prefix or area code), so 138****5678 still reads as a mobile.
        return _mask(original, rng, _MASK_KEEP[kind], 3 if kind == "phone" else 0)
    if kind == "email":
        return f"{rng.choice(string.ascii_lowercase)}***@{rng.choice(('example.com', 'example.org', 'example.net'))}"
    if kind == "url":
        scheme = original.split("://", 1)[0]
        return f"{scheme}://{rng.choice(('www', 'portal', 'files'))}.example.org/"
    if kind == "ip":
        if ":" in original:
            return f"2001:db8:{rng.randrange(16 ** 4):x}:*:*"
        return f"{rng.randrange(1, 224)}.{rng.randrange(256)}.*.*"
    if kind == "name":
        has_cjk = any(map(is_han, original))
        return _chinese_name(original, rng) if has_cjk else _english_name(original, rng)
    if kind == "address":
        if any(map(is_han, original)):
            return f"某省某市某区某路{rng.randrange(1, 300)}号"
        return f"XXXX {rng.choice(_STREETS)} Street"
    raise ValueError(f"no surrogate for PII type {kind!r}")
