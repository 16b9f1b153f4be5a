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


def threshold_rules(table: list[tuple[str, str, str, str, str]], params: dict) -> list[tuple[str, str, str, float, str]]:
    """(name, feature, kind, parameter key, scope) rows with each key replaced by its value."""
    return [(name, feature, kind, params[key], scope) for name, feature, kind, key, scope in table]


def ngram_rules(params: dict, prefix: str, scope: str) -> list[tuple[str, str, str, float, str]]:
    """Max rules on the `top_<n>_gram_frac` statistics, then on the `dup_<n>_gram_frac` ones,
    for the (n, limit) pairs of params["top_ngram_max_frac"] / params["dup_ngram_max_frac"]."""
    top = [(f"{prefix}_top_{n}_gram", f"top_{n}_gram_frac", "max", limit, scope) for n, limit in params["top_ngram_max_frac"]]
    dup = [
        (f"{prefix}_duplicated_{n}_gram", f"dup_{n}_gram_frac", "max", limit, scope)
        for n, limit in params["dup_ngram_max_frac"]
    ]
    return top + dup
