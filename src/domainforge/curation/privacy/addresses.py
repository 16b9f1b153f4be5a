"""Postal addresses: Chinese administrative chains (省/市/区/街道/路/号) and English street lines.

A province, city or district on its own is not an address ("广东省流行" must stay); a chain must
reach a street, a village/estate or a house number before it is scrubbed.
"""
from __future__ import annotations

import re

from domainforge.curation.privacy.names_zh import jieba_module
from domainforge.curation.privacy.types import PiiSpan
from domainforge.unicode_scripts import HAN_RANGES, HAN_RUN_RE

# Inside a chain that starts at a province or an address cue any Han character may be part of a
# place name (成都, 和平区), except 某, so the 某市某区 surrogates stay untouched on a second pass,
# and 号, so a street never runs past its house number.
_PLACE = f"(?:(?![某号])[{HAN_RANGES}])"
_PROVINCE = (
    r"(?:北京|天津|上海|重庆)市?|(?:河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|"
    r"广东|海南|四川|贵州|云南|陕西|甘肃|青海|台湾)省?|(?:内蒙古|西藏)(?:自治区)?|广西(?:壮族自治区)?|"
    r"宁夏(?:回族自治区)?|新疆(?:维吾尔自治区)?|(?:香港|澳门)(?:特别行政区)?"
)
_CITY = rf"{_PLACE}{{1,6}}?(?:自治州|地区|市|州|盟)"
_DISTRICT = rf"{_PLACE}{{1,6}}?(?:新区|区|县|旗)"
_TOWN = rf"{_PLACE}{{1,6}}?(?:街道|镇|乡)"
_STREET = rf"{_PLACE}{{1,8}}?(?:大道|大街|路|街|巷|弄|胡同)"
_ESTATE = rf"{_PLACE}{{1,8}}?(?:村|小区|社区|花园|公寓|大厦|新村|家园|苑)"
_NUMBER = (
    r"(?:[0-9０-９]+|[一二三四五六七八九十百零]+|[A-Za-z])(?:号院|号楼|号|弄|座|栋|幢|单元|室|层|楼)"
    r"(?:[-－]?(?:[0-9０-９]+|[A-Za-z])(?:号|座|栋|幢|单元|室|层|楼))*"
)
_POSTCODE = r"(?:\s?[1-8]\d{5}(?!\d))?"
_ZH_CHAIN = (
    rf"(?P<city>{_CITY})?(?P<district>{_DISTRICT})?(?:{_TOWN})?"
    rf"(?:(?P<street>{_STREET}|道)(?P<number>{_NUMBER})?|(?P<estate>{_ESTATE})(?P<number2>{_NUMBER})?)"
    rf"(?:{_ESTATE})?(?:{_NUMBER})?"
)
_ZH_PROVINCE_ADDRESS = re.compile(rf"(?:{_PROVINCE}){_ZH_CHAIN}{_POSTCODE}")
_ZH_CUE = re.compile(r"(?:住址|地址|家住|住在|现住|居住在|居住于|户籍地|户籍所在地|籍贯|住于)[:：]?\s?")
_ZH_CUED_ADDRESS = re.compile(rf"(?:{_PROVINCE})?{_ZH_CHAIN}{_POSTCODE}")
_ZH_STREET_NUMBER = re.compile(rf"(?:大道|大街|路|街|巷|弄|胡同)(?:{_NUMBER})(?:{_ESTATE})?(?:{_NUMBER})?")


def _chain_ok(match: re.Match) -> bool:
    """A chain is an address when it has a house number, or a named street/estate below a city or district."""
    has_number = match.group("number") or match.group("number2")
    below_admin = match.group("city") or match.group("district")
    street = match.group("street")
    if street == "道":  # 道 alone is a suffix of too many medical words (呼吸道, 消化道)
        return bool(has_number)
    return bool(has_number or (below_admin and (street or match.group("estate"))))


def find_chinese_addresses(text: str) -> list[PiiSpan]:
    spans = []
    for match in _ZH_PROVINCE_ADDRESS.finditer(text):
        if _chain_ok(match):
            spans.append(PiiSpan(match.start(), match.end(), "address"))
    for cue in _ZH_CUE.finditer(text):
        match = _ZH_CUED_ADDRESS.match(text, cue.end())
        if match and (_chain_ok(match) or match.group("city") and match.group("district")):
            spans.append(PiiSpan(match.start(), match.end(), "address"))
    for match in _ZH_STREET_NUMBER.finditer(text):
        start = _street_name_start(text, match.start())
        if start >= 0:
            spans.append(PiiSpan(start, match.end(), "address"))
    return spans


def _street_name_start(text: str, suffix_start: int) -> int:
    """Where the street name before 路/街 starts, by jieba's word boundaries: a bare "人民路88号"
    has no province or cue to anchor it, and "我家在" must not be swallowed."""
    window_start = max(0, suffix_start - 8)
    words = list(jieba_module().cut(text[window_start:suffix_start + 1]))
    if not words or not HAN_RUN_RE.fullmatch(words[-1]):
        return -1
    # The suffix is its own token ("中山/路") or part of the last one ("人民路").
    name_words = words[:-1] if len(words[-1]) == 1 else words[-1:]
    if not name_words or not HAN_RUN_RE.fullmatch(name_words[-1]) or "某" in name_words[-1]:
        return -1  # 某 names are the surrogates of an earlier pass
    length = len(name_words[-1]) if len(words[-1]) == 1 else len(name_words[-1]) - 1
    if length == 1 and len(name_words) > 1 and HAN_RUN_RE.fullmatch(name_words[-2]):
        length += len(name_words[-2])
    return suffix_start - length


# USPS street suffixes (Publication 28) and their common abbreviations.
_EN_SUFFIXES = (
    "Alley Avenue Branch Bridge Brook Brooks Burg Burgs Bypass Camp Canyon Cape Causeway Center Centers Circle "
    "Circles Cliff Cliffs Club Common Commons Corner Corners Course Court Courts Cove Coves Creek Crescent Crest "
    "Crossing Crossroad Curve Dale Dam Divide Drive Drives Estate Estates Expressway Extension Extensions Fall "
    "Falls Ferry Field Fields Flat Flats Ford Fords Forest Forge Forges Fork Forks Fort Freeway Garden Gardens "
    "Gateway Glen Glens Green Greens Grove Groves Harbor Harbors Haven Heights Highway Hill Hills Hollow Inlet "
    "Island Islands Isle Junction Junctions Key Keys Knoll Knolls Lake Lakes Land Landing Lane Light Lights Loaf "
    "Lock Locks Lodge Loop Mall Manor Manors Meadow Meadows Mews Mill Mills Mission Motorway Mount Mountain "
    "Mountains Neck Orchard Oval Overpass Park Parks Parkway Parkways Pass Passage Path Pike Pine Pines Place "
    "Plain Plains Plaza Point Points Port Ports Prairie Radial Ramp Ranch Rapid Rapids Rest Ridge Ridges River "
    "Road Roads Route Row Rue Run Shoal Shoals Shore Shores Skyway Spring Springs Spur Spurs Square Squares "
    "Station Stravenue Stream Street Streets Summit Terrace Throughway Trace Track Trafficway Trail Trailer "
    "Tunnel Turnpike Underpass Union Unions Valley Valleys Via Viaduct View Views Village Villages Ville Vista "
    "Walk Walks Wall Way Ways Well Wells "
    "St Ave Av Rd Blvd Ln Dr Ct Pl Hwy Pkwy Sq Ter Cir Trl Way Expy Fwy Ctr Cres Crk Xing Hts Jct Mtn"
).split()
_EN_STATE = (
    r"(?:A[AEKLPRSZ]|C[AOT]|D[CE]|F[LM]|G[AU]|HI|I[ADLN]|K[SY]|LA|M[ADEHINOPST]|N[CDEHJMVY]|O[HKR]|P[ARW]|RI|"
    r"S[CD]|T[NX]|UT|V[AIT]|W[AIVY])"
)
_EN_CITY_LINE = rf"(?:,?\s*\n?\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+){{0,2}},\s+{_EN_STATE}\s+\d{{5}}(?:-\d{{4}})?)"
_EN_STREET = re.compile(
    r"\d(?<![0-9A-Za-z]\d)\d{0,5}[A-Z]?\s+(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?\s+)?"
    r"(?:[A-Z][a-z]+\s+|\d{1,3}(?:st|nd|rd|th)\s+){1,3}"
    rf"(?:{'|'.join(sorted(set(_EN_SUFFIXES), key=len, reverse=True))})\.?(?![A-Za-z])"
    r"(?:,?\s+(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Room|Rm\.?|#)\s*#?[A-Za-z0-9-]+)?"
    rf"(?P<city>{_EN_CITY_LINE})?"
)
_EN_MILITARY = re.compile(
    r"(?<![A-Za-z])(?:PSC\s\d{4},\sBox\s\d{4}|Unit\s\d{4}\sBox\s\d{4}|(?:USNS|USNV|USS|USCGC)\s[A-Z][a-z]+)"
    rf",?\s*\n?\s*(?:APO|FPO|DPO)\s{_EN_STATE}\s\d{{5}}"
)
_EN_PO_BOX = re.compile(rf"(?<![A-Za-z])(?:P\.?\s?O\.?\s?Box|Post Office Box)\s\d{{1,6}}{_EN_CITY_LINE}?")


def find_english_addresses(text: str) -> list[PiiSpan]:
    spans = []
    for match in _EN_STREET.finditer(text):
        number = re.match(r"\d+", match.group()).group()
        # "Type 2 Diabetes Center": a one-digit "house number" needs the city/state/ZIP line too.
        if len(number) >= 2 or match.group("city"):
            spans.append(PiiSpan(match.start(), match.end(), "address"))
    # Each pattern needs a literal ("PO" of APO/FPO/DPO, "Box" of both box forms): the substring
    # test skips a scan that tries the pattern at every position of a text that cannot match.
    for pattern, literal in ((_EN_MILITARY, "PO"), (_EN_PO_BOX, "Box")):
        if literal in text:
            spans.extend(PiiSpan(m.start(), m.end(), "address") for m in pattern.finditer(text))
    return spans
