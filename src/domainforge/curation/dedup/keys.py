"""Each document's dedup keys, computed where its part is curated (a plan step on the engine's
workers), so exact and near dedup read small fixed-size keys instead of the text and the driver
never hashes or shingles a document:

- `dedup_exact_key`: blake2b-128 of the text normalised as exact dedup says (`dedup.exact`);
- `dedup_bands`: its MinHash LSH band keys (bands x rows uint32: 448 bytes with the defaults),
  `dedup_shingled` (it has a shingle at all), `dedup_cjk` (shingled as characters) and
  `dedup_length` (characters, for the keep rule), from minhash.py's NearDuplicateIndex.

Only records still in play get keys; the step after dedup removes the columns again.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from functools import lru_cache

import numpy as np
import pandas as pd

from domainforge.curation.dedup.minhash import DedupSettings, NearDuplicateIndex, dedup_settings, exact_keys
from domainforge.curation.shards import STATUS

EXACT_KEY, BANDS, SHINGLED, CJK, LENGTH = "dedup_exact_key", "dedup_bands", "dedup_shingled", "dedup_cjk", "dedup_length"
NEAR_COLUMNS = [BANDS, SHINGLED, CJK, LENGTH]
COLUMNS = [EXACT_KEY, *NEAR_COLUMNS]


@lru_cache(maxsize=4)
def index_for(near_items: tuple) -> NearDuplicateIndex:
    """One empty index per process and setting: its permutations and banding, never its documents."""
    return NearDuplicateIndex(**dict(near_items))


def near_keys(texts: list[str], params: Mapping | DedupSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(band keys (documents, b, r) uint32, has a shingle, shingled as CJK): the index's `keys_of`."""
    return index_for(tuple(sorted(asdict(dedup_settings(params).near).items()))).keys_of(texts)


def keys_step(frame: pd.DataFrame, task: int, params: Mapping | DedupSettings) -> tuple[pd.DataFrame, dict]:
    """Plan step: the dedup key columns, for the records still in play (None for the others)."""
    params = dedup_settings(params)
    live = np.flatnonzero((frame[STATUS] == "").to_numpy())
    texts = frame["text"].to_numpy()[live].tolist()
    bands, shingled, cjk = near_keys(texts, params)
    columns = {name: np.full(len(frame), None, dtype=object) for name in COLUMNS}
    columns[EXACT_KEY][live] = exact_keys(texts, params.exact)
    columns[BANDS][live] = [row.tobytes() for row in bands.reshape(len(live), bands.shape[1] * bands.shape[2])]
    columns[SHINGLED][live] = shingled.tolist()
    columns[CJK][live] = cjk.tolist()
    columns[LENGTH][live] = [len(text) for text in texts]
    return frame.assign(**columns), {}


def drop_keys_step(frame: pd.DataFrame, task: int) -> tuple[pd.DataFrame, dict]:
    """Plan step: the keys are dedup's only; later tables do not carry them."""
    return frame.drop(columns=COLUMNS, errors="ignore"), {}


def band_matrix(values, bands: int, rows: int) -> np.ndarray:
    """The `dedup_bands` bytes of some records back as a (records, bands, rows) uint32 array."""
    return np.frombuffer(b"".join(values), dtype=np.uint32).reshape(len(values), bands, rows)
