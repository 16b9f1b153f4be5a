"""When a training on question -> answer pairs does not run."""
from __future__ import annotations


def skip_reason(pairs: int, settings) -> str | None:
    """Why nothing is trained from `pairs` question -> answer pairs under `settings` (query
    adapter or embedder tuning: `enabled`, `min_pairs`); None: something is."""
    if not settings.enabled:
        return "disabled"
    if pairs < settings.min_pairs:
        return f"{pairs} pairs < min_pairs {settings.min_pairs}"
    return None
