"""Choosing records by a seeded hash order of their ids: the lowest-ranked records of a group
while they fit a budget (the mix: tokens per side; the split: records per corpus in eval).

A record's fate then depends on its id, the budget and the other records' (rank, weight) alone,
never on row order, sharding or engine. In memory the cutoff is found by sorting; over a sharded
table by two passes that hold per-part histograms and then one bucket's records, never every
record at once (`histogram`, `boundary`, `cutoff_in_bucket`).
"""
from __future__ import annotations

import numpy as np

from domainforge.curation.split import hash_rank

BUCKET_BITS = 12
BUCKETS = 1 << BUCKET_BITS
_SHIFT = np.uint64(64 - BUCKET_BITS)


def ranks(ids, seed: int) -> np.ndarray:
    return np.fromiter((hash_rank(i, seed) for i in ids), dtype=np.uint64, count=len(ids))


def buckets(rank: np.ndarray) -> np.ndarray:
    return (rank >> _SHIFT).astype(np.int64)


def _prefix(rank: np.ndarray, weight: np.ndarray, before: float, budget: float, keep_first: bool) -> int | None:
    """Largest rank among `rank` whose prefix, on top of `before`, stays within `budget`; None
    when not even the first fits (and keep_first does not apply)."""
    order = np.argsort(rank, kind="stable")
    fits = int(np.searchsorted(before + np.cumsum(weight[order], dtype=np.float64), budget, side="right"))
    if fits == 0:
        return int(rank[order][0]) if keep_first and before == 0 and len(rank) else None
    return int(rank[order][fits - 1])


def prefix_cutoff(rank: np.ndarray, weight: np.ndarray, budget: float, keep_first: bool = True) -> int | None:
    """In memory: records with rank <= the returned cutoff are the longest prefix of the hash
    order weighing at most `budget` (at least the first with `keep_first`). None: all fit."""
    if float(np.sum(weight, dtype=np.float64)) <= budget:
        return None
    cutoff = _prefix(rank, weight, 0.0, budget, keep_first)
    return -1 if cutoff is None else cutoff


def histogram(rank: np.ndarray, weight: np.ndarray) -> np.ndarray:
    return np.bincount(buckets(rank), weights=np.asarray(weight, dtype=np.float64), minlength=BUCKETS)


def boundary(total: np.ndarray, budget: float) -> tuple[int, float] | None:
    """(the bucket where a prefix within `budget` ends, the weight of the buckets before it), or
    None when everything fits."""
    if float(total.sum()) <= budget:
        return None
    before = np.concatenate([[0.0], np.cumsum(total)[:-1]])
    bucket = int(np.flatnonzero((before <= budget) & (total > 0)).max())
    return bucket, float(before[bucket])


def cutoff_in_bucket(rank: np.ndarray, weight: np.ndarray, bucket: int, before: float, budget: float, keep_first: bool = True) -> int:
    """The cutoff rank, from the records of the boundary bucket (what `prefix_cutoff` gives)."""
    cutoff = _prefix(rank, weight, before, budget, keep_first)
    return (bucket << (64 - BUCKET_BITS)) - 1 if cutoff is None else cutoff


def below(rank: np.ndarray, cutoff: int | None) -> np.ndarray:
    """Mask of the records the cutoff keeps."""
    if cutoff is None:
        return np.ones(len(rank), dtype=bool)
    if cutoff < 0:
        return np.zeros(len(rank), dtype=bool)
    return rank <= np.uint64(cutoff)
