"""Deterministic train/eval split: by a seeded hash of each record's id, per corpus.

Hashing the id (not the row order) keeps a record in the same split when others are added.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import pandas as pd

from domainforge.typed_settings import from_params


@dataclass(frozen=True)
class SplitSettings:
    """`split`: the held-out part of every training set."""

    eval_fraction: float = 0.1
    # The preference pairs' held-out share (None: eval_fraction). RM and DPO accuracy is a
    # proportion: it needs >= 200 held-out pairs for a 95% CI of about +-7 points.
    preference_eval_fraction: float | None = None
    min_eval: int = 2  # per corpus, so small samples still have held-out domain and general text
    seed: int = 42


def split_settings(params: Mapping | SplitSettings) -> SplitSettings:
    return from_params(SplitSettings, params, "split")


def hash_rank(record_id: str, seed: int) -> int:
    """A record's place in a seeded pseudo-random order that depends on its id alone: the same
    for any row order, sharding or engine."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{record_id}".encode(), digest_size=8).digest(), "big")


def eval_count(size: int, fraction: float, minimum: int) -> int:
    """Records of a corpus (of `size`) that go to eval: at least `minimum`, at least one left in
    train. Rounded first: 0.55 * 400 is 220.00000000000003, which must not become 221."""
    return min(max(minimum, math.ceil(round(fraction * size, 9))), size - 1) if size > 1 else 0


def split_preferences(table: pd.DataFrame, params: Mapping | SplitSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`split_records` with `preference_eval_fraction` as the held-out share when set."""
    settings = split_settings(params)
    if settings.preference_eval_fraction is not None:
        settings = replace(settings, eval_fraction=settings.preference_eval_fraction)
    return split_records(table, settings)


def split_records(table: pd.DataFrame, params: Mapping | SplitSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, eval): per corpus, the `eval_fraction` of records with the lowest hash rank go
    to eval, at least `min_eval` of them while at least one record stays in train."""
    settings = split_settings(params)
    fraction, minimum, seed = settings.eval_fraction, settings.min_eval, settings.seed
    ranks = pd.Series([hash_rank(i, seed) for i in table["id"]], index=table.index)
    groups = table["corpus"] if "corpus" in table.columns else pd.Series("all", index=table.index)
    is_eval = pd.Series(False, index=table.index)
    for _, members in ranks.groupby(groups):
        is_eval[members.nsmallest(eval_count(len(members), fraction, minimum)).index] = True
    return table[~is_eval].reset_index(drop=True), table[is_eval].reset_index(drop=True)
