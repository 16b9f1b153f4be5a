"""Order-preserving, deterministic map over chunks of a list in worker processes: how a node uses
every core it is given (`workers` in its parameters) without changing its output.

Workers are forked, so they start in milliseconds with everything the parent already loaded
(compiled patterns, jieba's dictionary) instead of importing it all again; where fork does not
exist (macOS, Windows) they are spawned. A small input runs in-process: a pool would cost more
than it saves, and the result is the same either way.
"""
from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial

# Below this many items per worker the work runs in-process.
MIN_ITEMS_PER_WORKER = 500
# Chunks per worker: the documents of one source cost alike and sources follow each other, so
# several chunks per worker even out the load.
CHUNKS_PER_WORKER = 4


def chunked(items: Sequence, chunks: int) -> list[Sequence]:
    """`items` cut into at most `chunks` contiguous, nearly equal, non-empty slices."""
    size = -(-len(items) // max(chunks, 1))
    return [items[start : start + size] for start in range(0, len(items), size)]


def map_chunks(function: Callable[..., list], items: Sequence, workers: int, *args) -> list:
    """`function(items, *args)` computed as `function(chunk, *args)` over contiguous chunks in up
    to `workers` processes, the chunks' results concatenated in order. `function` must be a
    module-level function (it is sent to the workers by name) returning one result per item."""
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, not {workers!r}")
    workers = min(workers, len(items) // MIN_ITEMS_PER_WORKER)
    if workers <= 1:
        return list(function(items, *args))
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        results = pool.map(partial(_call, function, args), chunked(items, workers * CHUNKS_PER_WORKER))
        return [result for chunk in results for result in chunk]


def _call(function: Callable[..., list], args: tuple, chunk: Sequence) -> list:
    return list(function(chunk, *args))
