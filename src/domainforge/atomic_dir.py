"""Replace a directory (a model, an index) so that a complete version is always on disk.

A writer fills `<target>.staging-<id>`; `swap_in` then renames the current `target` to
`<target>.old-<id>`, the staging folder to `target`, and only then deletes the old one. A crash
between the two renames leaves no `target` but an intact `.old-<id>`: readers use it
(`readable`); the next write replaces it as it would `target`; an owner that checks "is it
finished?" before deciding to rebuild (a training run, the base model) calls `recover` first.
Readers never rename or delete anything, and a writer never moves the old version while it may be
copying from it.
"""
from __future__ import annotations

import glob
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _leftovers(target: Path, kind: str) -> list[Path]:
    """`<target>.<kind>-*` beside target, newest first."""
    found = target.parent.glob(f"{glob.escape(target.name)}.{kind}-*")
    return sorted((p for p in found if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)


def readable(target: str | os.PathLike) -> Path:
    """The directory to read for `target`: itself, or the version an interrupted swap set aside."""
    target = Path(target)
    if target.exists():
        return target
    old = _leftovers(target, "old")
    return old[0] if old else target


def recover(target: str | os.PathLike) -> None:
    """Undo an interrupted swap: put the version it set aside back (if `target` is missing) and
    delete leftover staging and old folders. For a target's owner at startup, not for readers."""
    target = Path(target)
    _remove(_leftovers(target, "staging"))
    old = _leftovers(target, "old")
    if old and not target.exists():
        os.replace(old.pop(0), target)
    _remove(old)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def staging_path(target: str | os.PathLike, token: str | None = None) -> Path:
    """Where to build target's new version; `token` names it when several processes write it."""
    target = Path(target)
    return target.with_name(f"{target.name}.staging-{token or uuid.uuid4().hex}")


def _set_aside(target: Path) -> Path | None:
    """Step 1 of the swap: move the current version out of the way (kept until step 2 is done)."""
    if not target.exists():
        return None
    old = target.with_name(f"{target.name}.old-{uuid.uuid4().hex}")
    os.replace(target, old)
    return old


def swap_in(staging: str | os.PathLike, target: str | os.PathLike) -> None:
    """Make the finished `staging` directory `target`; the old version is deleted only afterwards."""
    staging, target = Path(staging), Path(target)
    old = _set_aside(target)
    try:
        os.replace(staging, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    _remove(_leftovers(target, "old"))  # the one just set aside, and any an earlier crash left


@contextmanager
def replacing(target: str | os.PathLike) -> Iterator[Path]:
    """`with replacing(target) as staging:` write the new version into the empty `staging`
    folder; it becomes `target` when the block succeeds and is deleted if it fails."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove(_leftovers(target, "staging"))  # what crashed writers left
    staging = staging_path(target)
    staging.mkdir()
    try:
        yield staging
        swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
