"""Package names imported on first use (PEP 562), for packages whose modules pull in heavy
libraries (torch, transformers, FAISS) that most importers of the package never touch."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module


def lazy_getattr(package: str, exports: Mapping[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` resolving each name in `exports` ({name: module}) by importing
    its module when the name is first read."""

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(exports[name]), name)

    return __getattr__
