"""Progress bars for the long steps (curation batches, ingest files, training, embedding and index
build, embedder tuning, evaluation): tqdm on an interactive terminal, nothing when the output is
a log or `CI` is set, so logs stay clean."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from tqdm.auto import tqdm


def enabled() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


def bar(items: Iterable, *, total: int | None = None, desc: str = "", unit: str = "it") -> Iterable:
    """`items`, behind a tqdm bar when `enabled()`; the iterable itself otherwise."""
    if not enabled():
        return items
    return tqdm(items, total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)


def counter(total: int, *, desc: str = "", unit: str = "it") -> tqdm:
    """A bar advanced by hand (`bar.update(n)`), for work counted in other units than the loop's
    steps (chunks, embedded a block at a time); a silent one when not `enabled()`. A context
    manager: the bar is closed on leaving."""
    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True, disable=not enabled())
