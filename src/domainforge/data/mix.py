"""Mix general and domain data to a target ratio measured in tokens of the base model.

The side over its share is downsampled (seeded shuffle, then greedy fill up to the target);
what is left out is dropped with reason `dropped:mix:over_ratio`. The achieved ratio is reported.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .records import drop_rows
from .tokens import chat_text, count_tokens


def _take_until(tokens: np.ndarray, budget: float, seed: int) -> np.ndarray:
    """Mask of rows kept: in a seeded random order, each row that still fits the budget (the
    first row always, so a side is never emptied by one oversized record); then the skipped
    rows, smallest first, top up what is left of the budget so small sets still hit the ratio."""
    keep = np.zeros(len(tokens), dtype=bool)
    used = 0
    order = np.random.default_rng(seed).permutation(len(tokens))
    for index in list(order) + sorted(order, key=lambda i: tokens[i]):
        if not keep[index] and (used + tokens[index] <= budget or not keep.any()):
            keep[index] = True
            used += tokens[index]
    return keep


def mix_by_ratio(table: pd.DataFrame, tokens: list[int], ratio: float, seed: int, unit: str):
    """Downsample `table` (with a `corpus` column) to general:domain = ratio in `unit`s."""
    tokens = np.asarray(tokens, dtype=np.int64)
    is_domain = (table["corpus"] == "domain").to_numpy()
    domain, general = int(tokens[is_domain].sum()), int(tokens[~is_domain].sum())
    keep = np.ones(len(table), dtype=bool)
    if general > ratio * domain:
        keep[~is_domain] = _take_until(tokens[~is_domain], ratio * domain, seed)
    elif ratio > 0 and general < ratio * domain:
        keep[is_domain] = _take_until(tokens[is_domain], general / ratio, seed)
    kept_domain, kept_general = int(tokens[keep & is_domain].sum()), int(tokens[keep & ~is_domain].sum())
    report = {
        "unit": unit,
        "target_general_per_domain": ratio,
        "achieved_general_per_domain": kept_general / kept_domain if kept_domain else None,
        "before": {"domain": domain, "general": general, "records": len(table)},
        "after": {"domain": kept_domain, "general": kept_general, "records": int(keep.sum())},
    }
    mixed, drops = drop_rows(table.assign(tokens=tokens), ~keep, "dropped:mix:over_ratio")
    return mixed, drops, report


def _unit(tokenizer) -> str:
    return "tokens" if tokenizer is not None else "characters"


def mix_pretraining(documents: pd.DataFrame, tokenizer, params: Mapping):
    tokenizer = tokenizer if params.get("count_by", "tokens") == "tokens" else None
    tokens = count_tokens(list(documents["text"]), tokenizer)
    return mix_by_ratio(documents, tokens, float(params["pretrain_general_per_domain"]), int(params["seed"]), _unit(tokenizer))


def mix_sft(chats: pd.DataFrame, tokenizer, params: Mapping):
    tokenizer = tokenizer if params.get("count_by", "tokens") == "tokens" else None
    tokens = count_tokens([chat_text(m) for m in chats["messages"]], tokenizer)
    return mix_by_ratio(chats, tokens, float(params["sft_general_per_domain"]), int(params["seed"]), _unit(tokenizer))
