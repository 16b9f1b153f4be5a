"""The PII types the scrubber knows, their placeholder tags, and the span every detector returns."""
from __future__ import annotations

from typing import NamedTuple

# Order = priority when two detections overlap (earlier wins): a URL with user info contains an
# email-like part, and a label (病历号, MRN) says more than the shape of the number after it.
PII_TYPES = (
    "url",
    "email",
    "medical_record",
    "insurance",
    "passport",
    "id_card",
    "bank_card",
    "ssn",
    "phone",
    "ip",
    "address",
    "name",
)
PRIORITY = {kind: rank for rank, kind in enumerate(PII_TYPES)}
TAGS = {kind: f"<{kind.upper()}>" for kind in PII_TYPES}


class PiiSpan(NamedTuple):
    start: int
    end: int
    kind: str
    # Already pseudonymised in the conventional way (e.g. 王某某): a tag replaces it, but the
    # surrogate style leaves it as it is, which keeps surrogate scrubbing idempotent.
    pseudonym: bool = False


def check_types(types) -> tuple[str, ...]:
    """Validate a user-given list of PII types (None = all) and return it in priority order."""
    if types is None:
        return PII_TYPES
    unknown = sorted(set(types) - set(PII_TYPES))
    if unknown:
        raise ValueError(f"unknown PII types {unknown}; known: {list(PII_TYPES)}")
    return tuple(kind for kind in PII_TYPES if kind in set(types))
