"""Deterministic train/eval split: by a seeded hash of each record's id, per corpus.

Hashing the id (not the row order) keeps a record in the same split when others are added.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping

import pandas as pd


def _rank(record_id: str, seed: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}:{record_id}".encode(), digest_size=8).digest(), "big")


def split_records(table: pd.DataFrame, params: Mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, eval): per corpus, the `eval_fraction` of records with the lowest hash rank go
    to eval, at least `min_eval` of them while at least one record stays in train."""
    fraction, minimum, seed = float(params["eval_fraction"]), int(params["min_eval"]), int(params["seed"])
    ranks = pd.Series([_rank(i, seed) for i in table["id"]], index=table.index)
    groups = table["corpus"] if "corpus" in table.columns else pd.Series("all", index=table.index)
    is_eval = pd.Series(False, index=table.index)
    for _, members in ranks.groupby(groups):
        size = len(members)
        n_eval = min(max(minimum, math.ceil(fraction * size)), size - 1) if size > 1 else 0
        is_eval[members.nsmallest(n_eval).index] = True
    return table[~is_eval].reset_index(drop=True), table[is_eval].reset_index(drop=True)
