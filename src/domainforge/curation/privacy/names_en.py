"""English person names in name contexts: after titles (Dr., Mrs.), "the patient, X", "my name
is X", "signed: X", and before credentials or ages ("X, MD", "X, a 45-year-old"). Rules only:
spaCy's official English models are not published on PyPI (only unofficial re-uploads are), and
eponyms (Parkinson's disease, Down syndrome) must survive, which a bare capitalised-word rule
would not allow. With no cue, a common first name followed by a capitalised surname is a name
("Adam Booth asked ...") unless an eponym or an institution follows (Charles Bonnet syndrome,
Michael J. Fox Foundation).
"""
from __future__ import annotations

import re

from domainforge.curation.privacy.first_names import AMBIGUOUS_FIRST_NAMES, FIRST_NAMES
from domainforge.curation.privacy.types import PiiSpan

# A capitalised token (McDonald, O'Brien, Smith-Jones) or an initial.
_TOKEN = r"(?:[A-Z][a-z]*(?:'[A-Z])?[a-z]+(?:-[A-Z][a-z]+)?)"
_INITIAL = r"(?:[A-Z]\.)"
_NAME = rf"(?:{_INITIAL}\s?)*{_TOKEN}(?:\s(?:{_INITIAL}\s)?{_TOKEN}){{0,2}}"
_NAME2 = rf"{_TOKEN}(?:\s{_INITIAL})?\s{_TOKEN}(?:\s{_TOKEN})?"
# Patterns start with their cue's first letter, not with a look-behind: Python's regex engine
# only skips quickly to candidate positions when a pattern begins with a character or set. The
# "not inside a word" check on the cue is done afterwards (_starts_word). Each pattern comes with
# literals one of which every match contains: a document holding none of them is skipped by
# fast substring search (these cues start with common letters, so the regex alone tries a match
# at a third of all positions).
_EN_PREFIX_CUES = [
    # titles: Dr. Smith, Mrs. Jane Doe
    (re.compile(rf"(?:(?:Dr|Mr|Mrs|Ms|Mx|Prof|Drs)\.?|Miss|Doctor|Professor|Nurse)\s+(?P<name>{_NAME})"),
     ("Dr", "Mr", "Ms", "Mx", "Prof", "Miss", "Doctor", "Nurse")),
    # the patient, John Smith, ... / patient John Smith was
    (re.compile(rf"(?:[Pp]atient|[Pp]t\.)(?:'s name is|,| named)?\s+(?P<name>{_NAME2})(?![A-Za-z]|\s[A-Z])"),
     ("atient", "Pt.", "pt.")),
    (re.compile(rf"(?:[Nn]ame is|[Nn]amed|Name:|NAME:|[Ss]igned:?|[Ss]igned by|[Ss]een by|[Rr]eferred by|"
                rf"[Dd]ictated by|[Aa]ttending:|[Cc]ontact:|[Nn]ext of kin:?|[Gg]uardian:?|[Ee]mergency contact:?)\s+(?P<name>{_NAME})"),
     ("ame is", "amed", "Name:", "NAME:", "igned", "een by", "eferred by", "ictated by", "ttending:", "ontact:",
      "ext of kin", "uardian", "mergency contact")),
    (re.compile(rf"(?:I am|I'm|[Mm]y (?:wife|husband|son|daughter|mother|father),?)\s+(?P<name>{_NAME2})"),
     ("I am", "I'm", "y wife", "y husband", "y son", "y daughter", "y mother", "y father")),
]
# Cues after the name (John Smith, MD / John Smith, a 45-year-old / John Smith (DOB ...)): find
# the cue, then read the name backwards from it.
_EN_SUFFIX_CUES = re.compile(
    r"(?:,?\s(?:MD|M\.D\.|RN|R\.N\.|DO|PhD|Ph\.D\.|NP|PA-C|DDS|MBBS)(?![A-Za-z])"
    r"|,?\s(?:is\s|was\s)?an?\s\d{1,3}[- ](?:year|yr)[- ]old|\s\((?:DOB|born|age|MRN))"
)
_NAME_BEFORE_CUE = re.compile(rf"(?P<name>{_NAME2})\Z")
_SUFFIX_HINT = re.compile(r"MD|M\.D|RN|R\.N|DO|Ph\.?D|NP|PA-C|DDS|MBBS|year|yr|\((?:DOB|born|age|MRN)")
# Capitalised words that follow these cues in ordinary medical prose and are not names.
_NOT_NAMES = frozenset(
    "The A An This That These Those Education Information Care Resources Safety Guide Center Centers Health "
    "Support Services Handbook Rights Advocacy Portal History Records Record Registry Instructions Summary "
    "Questions Testing Assistance Organizations Organization Access Program Programs Experience Experiences "
    "Navigator Navigation Satisfaction Outcomes Preferences Reported Identification Engagement Portals "
    "Medicine Medical Research Institute National American Society Association Foundation Of And Or In On "
    "For With To From By At As Is Are Was Were".split()
)


def _starts_word(text: str, position: int) -> bool:
    return position == 0 or not ("A" <= text[position - 1] <= "Z" or "a" <= text[position - 1] <= "z")


def _english_name_ok(name: str) -> bool:
    words = [w for w in name.split() if not w.endswith(".")]
    return bool(words) and not any(w in _NOT_NAMES for w in words)


def find_english_names(text: str) -> list[PiiSpan]:
    spans = []
    for pattern, literals in _EN_PREFIX_CUES:
        if not any(literal in text for literal in literals):
            continue
        for match in pattern.finditer(text):
            if _starts_word(text, match.start()) and _english_name_ok(match.group("name")):
                spans.append(PiiSpan(match.start("name"), match.end("name"), "name"))
    if _SUFFIX_HINT.search(text):
        for cue in _EN_SUFFIX_CUES.finditer(text):
            window_start = max(0, cue.start() - 60)
            match = _NAME_BEFORE_CUE.search(text[window_start:cue.start()])
            if match is None:
                continue
            start = window_start + match.start()
            # The window may cut a name short: take the match only where a word starts.
            if _starts_word(text, start) and _english_name_ok(match.group("name")):
                spans.append(PiiSpan(start, window_start + match.end(), "name"))
    return spans


# A capitalised word followed by a capitalised word (with an optional middle initial): the first
# word is checked against FIRST_NAMES in Python, which is faster than a 500-name alternation.
_CAPITALISED_PAIR = re.compile(rf"[A-Z][a-z]+(?=\s(?:{_INITIAL}\s)?[A-Z][a-z])")
_SURNAME_AFTER = re.compile(rf"\s(?:{_INITIAL}\s)?(?P<surname>{_TOKEN})(?![A-Za-z\-])")
# Words after a person's name that make it part of an eponym or an institution's name.
_EPONYM_OR_INSTITUTION = re.compile(
    r"(?:'s)?(?:[\s\-][A-Z][a-z]+){0,2}(?:'s)?\s+(?:disease|syndrome|disorder|palsy|sign|test|sequence|"
    r"anomaly|malformation|tumou?r|lymphoma|sarcoma|virus|fever|reflex|phenomenon|procedure|operation|"
    r"classification|criteria|scale|score|method|technique|law|effect|foundation|institute|center|centre|"
    r"hospital|clinic|laboratory|university|college|school|award|prize|fund|society|association|trust|house|"
    r"memorial|medical|cancer|children|research|national|library|program|voice)(?![A-Za-z])",
    re.IGNORECASE,
)
_MID_SENTENCE = re.compile(r"[a-z][a-z,]*\s\Z")  # a lower-case word just before
_CAPITALISED_NEXT = re.compile(r"\s[A-Z]")
_CAPITALISED_BEFORE = re.compile(r"[A-Z][a-z]*\s\Z")
_PLACE_PREFIX = re.compile(r"(?:San|Santa|Santo|Saint|St\.?|Fort|Port|Mount|Lake|Los|Las|El|Del)\s\Z")
# Capitalised words that follow a first name in headings and place names but are no surnames.
_NOT_SURNAMES = _NOT_NAMES | frozenset(
    "River Rivers Mountain Mountains Valley Lake Lakes Island Islands County City Bay Beach Canyon Creek Falls "
    "Springs Heights Harbor Harbour Point Port Street Avenue Road Syndrome Syndromes Disease Diseases Disorder "
    "Procedure Operation Method Technique Scale Score Criteria Classification Therapy Treatment Surgery Repair "
    "Disorders Virus Fever Sign Test Sequence Type Stage Grade Phase Hospital Clinic University College School "
    "Institute Foundation Award Prize Fund Day Week Month Year January February March April May June July "
    "August September October November December Monday Tuesday Wednesday Thursday Friday Saturday Sunday "
    "Have Has Had Be Been Is Are Was Were Can Could Should Would Will Might Must Do Does Did Not Also".split()
)


def find_uncued_english_names(text: str) -> list[PiiSpan]:
    spans = []
    for match in _CAPITALISED_PAIR.finditer(text):
        start = match.start()
        first = match.group()
        if start and (text[start - 1].isalpha() or text[start - 1] in "-'"):
            continue  # inside a word or a hyphenated eponym (Charcot-Marie-Tooth)
        ambiguous = first in AMBIGUOUS_FIRST_NAMES
        if not (first in FIRST_NAMES or ambiguous and _MID_SENTENCE.search(text, max(0, start - 30), start)):
            continue
        if _PLACE_PREFIX.search(text, max(0, start - 7), start):
            continue  # San Francisco, Santa Barbara, St. Paul
        surname = _SURNAME_AFTER.match(text, match.end())
        if surname is None or surname.group("surname") in _NOT_SURNAMES:
            continue
        if _EPONYM_OR_INSTITUTION.match(text, surname.end()):
            continue
        end = surname.end()
        title_case = end == len(text) or text[end] == "\n" or _CAPITALISED_NEXT.match(text, end)
        if title_case and (ambiguous or _CAPITALISED_BEFORE.search(text, max(0, start - 30), start)):
            continue  # a Title Case heading (Gene Therapy Basics, Aloe Vera Complications)
        spans.append(PiiSpan(start, end, "name"))
    return spans
