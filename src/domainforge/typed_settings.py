"""Parameters -> typed settings: the one checker every stage, runtime and pipeline uses.

Each group of settings is a dataclass whose fields are the keys it knows, with their types,
defaults and a comment saying what they do; the YAML under conf/ holds only what a run changes.
`from_params(Cls, mapping, "training.sft")` builds it, recursing into nested dataclasses, lists
and mappings of them, and fails on what would otherwise train or filter silently with a default:

- an unknown key, named by its full dotted path with the nearest known key
  (`training.sft.lora: unknown setting 'rnak'; did you mean 'r'?`);
- a missing key that has no default;
- a value of the wrong type (`training_runtime.nodes.nnodes must be an integer, got '2'`),
  or not one of a `Literal`'s values.

A key left out takes the field's default. Integers are accepted for float fields and lists for
tuple fields (YAML has no tuples), so the settings are plain, hashable-where-possible values.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

T = TypeVar("T")


class SettingsError(ValueError):
    """A parameter that does not fit its settings class, naming the dotted key at fault."""


def from_params(cls: type[T], params: Mapping | T | None, where: str) -> T:
    """`cls` built from `params` (None or {}: every default); an instance of `cls` is returned as is.

    `where` is the dotted path of `params` in the configuration (e.g. "training.sft"); errors name
    keys below it."""
    if isinstance(params, cls):
        return params
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise SettingsError(f"{where} must be a mapping of settings, got {params!r}")
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    check_keys(params, known, where)
    missing = [name for name, f in known.items() if name not in params and _required(f)]
    if missing:
        raise SettingsError(f"{where}: missing setting{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))}")
    hints = _hints(cls)
    return cls(**{name: convert(value, hints[name], f"{where}.{name}") for name, value in params.items()})


def check_keywords(function: Callable, params: Mapping, where: str) -> None:
    """For settings handed on as keyword arguments (an embedder's spec, whose keys depend on its
    kind): a key `function` does not take is the same error as in `from_params`."""
    known = [
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    ]
    check_keys(params, known, where)


def check_keys(params: Mapping, known: Iterable[str], where: str) -> None:
    """A key of `params` not in `known` is the same error as in `from_params` (for options handed
    on to a library whose signature does not list them, e.g. fastText's)."""
    known = list(known)
    unknown = sorted(str(key) for key in params if key not in known)
    if unknown:
        hints = "; ".join(unknown_key(key, known) for key in unknown)
        raise SettingsError(f"{where}: {hints} (known: {', '.join(sorted(known))})")


def unknown_key(key: str, known) -> str:
    """`unknown setting 'key'; did you mean 'nearest'?` (the hint only when one is close)."""
    near = difflib.get_close_matches(key, list(known), n=1)
    return f"unknown setting {key!r}" + (f"; did you mean {near[0]!r}?" if near else "")


def convert(value: Any, tp: Any, where: str) -> Any:
    """`value` checked against the annotation `tp` (and converted: dataclasses built, int -> float,
    list -> tuple)."""
    if tp is Any or tp is object:
        return value
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        members = get_args(tp)
        if value is None and type(None) in members:
            return None
        for member in members:
            if member is type(None):
                continue
            try:
                return convert(value, member, where)
            except SettingsError:
                continue
        raise _wrong(value, tp, where)
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in get_args(tp)):  # True is not 1
            return value
        choices = [a for a in get_args(tp) if isinstance(a, str)]
        near = difflib.get_close_matches(value, choices, n=1) if isinstance(value, str) else []
        raise SettingsError(f"{_wrong(value, tp, where)}" + (f"; did you mean {near[0]!r}?" if near else ""))
    if dataclasses.is_dataclass(tp):
        return from_params(tp, value, where)
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, list | tuple):
            raise _wrong(value, tp, where)
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:  # fixed length, e.g. tuple[int, float]
            if len(value) != len(args):
                raise _wrong(value, tp, where)
            return tuple(convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        items = [convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if (origin or tp) is tuple else items
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise _wrong(value, tp, where)
        item = get_args(tp)[1] if get_args(tp) else Any
        return {k: convert(v, item, f"{where}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise _wrong(value, tp, where)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _wrong(value, tp, where)
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise _wrong(value, tp, where)
    raise TypeError(f"{where}: typed_settings cannot check the annotation {tp!r}")


def describe(tp: Any) -> str:
    """What a value of annotation `tp` is, in words ("an integer", "one of 'full', 'lora'")."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(describe(member) for member in get_args(tp))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if dataclasses.is_dataclass(tp):
        return "a mapping of settings"
    if origin in (list, tuple) or tp in (list, tuple):
        return "a list"
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        return "a mapping"
    return {
        int: "an integer", float: "a number", bool: "true or false", str: "a string", type(None): "null",
    }.get(tp, getattr(tp, "__name__", str(tp)))


def _wrong(value: Any, tp: Any, where: str) -> SettingsError:
    return SettingsError(f"{where} must be {describe(tp)}, got {value!r}")


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)
