"""Checksums and plausibility checks that separate real identifiers from look-alike numbers.

A digit string only counts as an ID card, bank card, SSN or phone when it passes the check its
issuer defines; an 18-digit batch number with a wrong check digit is left alone.
"""
from __future__ import annotations

import datetime
import ipaddress

# GB 11643-1999: weights of the first 17 digits, and the check character for (sum mod 11).
_CN_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_ID_CHECK = "10X98765432"
# First two digits of a resident ID: provinces (GB/T 2260), 71/81/82/83 for Taiwan, Hong Kong,
# Macao residence permits, 91 for the foreigners' permanent-residence ID.
_CN_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82 83 91".split()
)


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        born = datetime.date(year, month, day)
    except ValueError:
        return False
    return datetime.date(1900, 1, 1) <= born <= datetime.date.today()


def cn_id18_valid(value: str) -> bool:
    """18-character resident ID: province, birth date and ISO 7064 MOD 11-2 check character."""
    if len(value) != 18 or not value[:17].isdigit() or value[:2] not in _CN_PROVINCES:
        return False
    if not _valid_date(int(value[6:10]), int(value[10:12]), int(value[12:14])):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _CN_ID_WEIGHTS))
    return _CN_ID_CHECK[total % 11] == value[17].upper()


def cn_id15_valid(value: str) -> bool:
    """Legacy 15-digit ID (before 1999): province and a YYMMDD birth date in the 1900s; no checksum."""
    if len(value) != 15 or not value.isdigit() or value[:2] not in _CN_PROVINCES:
        return False
    return _valid_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _card_brand_ok(digits: str) -> bool:
    """Issuer prefix and length of the major schemes (Visa, Mastercard, Amex, Discover, JCB,
    Diners, Maestro, UnionPay); a Luhn-valid number with no such prefix is not a card."""
    n = len(digits)
    two, four = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16
    if two in (34, 37):
        return n == 15
    if two == 62 or two == 81:  # UnionPay (81: newer UnionPay ranges)
        return 16 <= n <= 19
    if digits.startswith("6011") or two == 65 or 644 <= int(digits[:3]) <= 649:
        return 16 <= n <= 19
    if two == 35 or digits.startswith(("2131", "1800")):  # JCB (3528-3589; issuers print 35xx)
        return n in (15, 16, 19)
    if 300 <= int(digits[:3]) <= 305 or two in (36, 38, 39) or digits.startswith("3095"):
        return 14 <= n <= 19
    if digits.startswith(("5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762", "6763")) or two in (56, 57, 58):
        return 12 <= n <= 19
    return False


def bank_card_valid(digits: str) -> bool:
    return 12 <= len(digits) <= 19 and digits.isdigit() and _card_brand_ok(digits) and luhn_valid(digits)


def cn_mobile_valid(digits: str) -> bool:
    """Mainland mobile: 11 digits, 1 then 3-9 (13x..19x)."""
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789" and digits.isdigit()


def cn_area_code_length(digits: str) -> int:
    """Length of the leading long-distance code of a landline (010, 02x: 3; 0xxx: 4), or 0."""
    if len(digits) < 3 or digits[0] != "0" or digits[1] == "0":
        return 0
    return 3 if digits[1] in "12" else 4


def nanp_valid(digits: str) -> bool:
    """North American number: area code and exchange both start with 2-9."""
    return len(digits) == 10 and digits.isdigit() and digits[0] in "23456789" and digits[3] in "23456789"


def ssn_valid(area: str, group: str, serial: str) -> bool:
    """US SSN: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    return (
        area not in ("000", "666")
        and area[0] != "9"
        and group != "00"
        and serial != "0000"
    )


def ipv4_valid(value: str) -> bool:
    parts = value.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 and (p == "0" or p[0] != "0") for p in parts)


def ipv6_valid(value: str) -> bool:
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True
