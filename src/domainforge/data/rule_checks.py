"""The threshold check both languages' quality rules share."""
from __future__ import annotations

from collections.abc import Callable


def first_failure(
    stats: dict[str, float],
    rules: list[tuple[str, str, str, float, str]],
    applies: Callable[[str, dict[str, float]], bool],
) -> str | None:
    """Name of the first rule (name, feature, "min"/"max", threshold, scope) that `stats` fail.

    A rule whose scope does not apply to the document (too short, too few lines) is skipped.
    """
    for name, feature, kind, limit, scope in rules:
        if not applies(scope, stats):
            continue
        value = stats[feature]
        if (kind == "min" and value < limit) or (kind == "max" and value > limit):
            return name
    return None


def scope_applies(
    requirements: dict[str, tuple[str, str]], scope: str, stats: dict[str, float], params: dict
) -> bool:
    """Whether a rule scope applies: `requirements[scope]` is (statistic, parameter), and the
    document's statistic must reach the parameter's value; a scope not listed ("doc") always applies."""
    if scope not in requirements:
        return True
    statistic, minimum = requirements[scope]
    return stats[statistic] >= params[minimum]
