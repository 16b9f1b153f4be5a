"""The one settings checker: parameters become frozen dataclasses; a misspelt key at any depth is
an error naming its dotted path and the nearest known key; a key left out takes the default."""
from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, field
from typing import Literal

import pytest

from domainforge.typed_settings import SettingsError, from_params


@dataclass(frozen=True)
class Window:
    max_length: int = 512
    batch_tokens: int = 2048


@dataclass(frozen=True)
class Spec:
    name: str  # required: no default
    limit: int | None = None


@dataclass(frozen=True)
class Recipe:
    learning_rate: float = 5.0e-5
    mode: Literal["full", "lora"] = "full"
    loss_type: tuple[str, ...] = ("sigmoid",)
    pairs: tuple[tuple[int, float], ...] = ()
    window: Window = field(default_factory=Window)
    optional_window: Window | None = None
    specs: list[Spec] = field(default_factory=list)
    by_name: dict[str, Window] = field(default_factory=dict)
    target: str | tuple[str, ...] = "all-linear"
    enabled: bool = True


def test_a_missing_key_takes_the_default_and_the_result_is_frozen():
    recipe = from_params(Recipe, {"learning_rate": 1}, "training.sft")
    assert recipe == Recipe(learning_rate=1.0) and isinstance(recipe.learning_rate, float)
    assert from_params(Recipe, None, "training.sft") == Recipe() == from_params(Recipe, {}, "x")
    assert from_params(Recipe, {"window": {"max_length": 64}}, "x").window == Window(max_length=64, batch_tokens=2048)
    with pytest.raises(FrozenInstanceError):
        recipe.learning_rate = 2.0
    assert from_params(Recipe, recipe, "x") is recipe  # already typed: passed through


def test_a_misspelt_key_at_depth_names_its_path_and_the_nearest_key():
    with pytest.raises(SettingsError, match=r"^training\.sft: unknown setting 'learning_rat'; did you mean 'learning_rate'\?"):
        from_params(Recipe, {"learning_rat": 1e-4}, "training.sft")
    with pytest.raises(SettingsError, match=r"^training\.sft\.window: unknown setting 'max_lenght'; did you mean 'max_length'\?"):
        from_params(Recipe, {"window": {"max_lenght": 64}}, "training.sft")
    with pytest.raises(SettingsError, match=r"^x\.by_name\.a: unknown setting 'batch_token'; did you mean 'batch_tokens'"):
        from_params(Recipe, {"by_name": {"a": {"batch_token": 1}}}, "x")
    with pytest.raises(SettingsError, match=r"^suite\.specs\[1\]: unknown setting 'limt'; did you mean 'limit'"):
        from_params(Recipe, {"specs": [{"name": "a"}, {"name": "b", "limt": 3}]}, "suite")
    # Nothing close: no guess, but the known keys.
    with pytest.raises(SettingsError, match=r"unknown setting 'zzz' \(known: batch_tokens, max_length\)"):
        from_params(Window, {"zzz": 1}, "w")


def test_missing_required_keys_and_wrong_types_are_named():
    with pytest.raises(SettingsError, match=r"^suite\.specs\[0\]: missing setting 'name'"):
        from_params(Recipe, {"specs": [{"limit": 3}]}, "suite")
    for params, message in [
        ({"window": {"max_length": "64"}}, r"x\.window\.max_length must be an integer, got '64'"),
        ({"window": {"max_length": True}}, r"x\.window\.max_length must be an integer, got True"),
        ({"learning_rate": "fast"}, r"x\.learning_rate must be a number"),
        ({"enabled": "yes"}, r"x\.enabled must be true or false"),
        ({"mode": "lorra"}, r"x\.mode must be one of 'full', 'lora', got 'lorra'; did you mean 'lora'\?"),
        ({"loss_type": "sigmoid"}, r"x\.loss_type must be a list"),
        ({"pairs": [[2, 0.5, 1]]}, r"x\.pairs\[0\] must be a list"),
        ({"window": [1]}, r"x\.window must be a mapping of settings"),
        ({"specs": [{"name": "a", "limit": 1.5}]}, r"x\.specs\[0\]\.limit must be an integer or null, got 1\.5"),
    ]:
        with pytest.raises(SettingsError, match=message):
            from_params(Recipe, params, "x")


def test_values_are_converted_to_their_annotation():
    recipe = from_params(
        Recipe,
        {"loss_type": ["sigmoid", "bco_pair"], "pairs": [[2, 1]], "optional_window": {}, "target": ["q_proj"],
         "specs": [{"name": "a"}]},
        "x",
    )
    assert recipe.loss_type == ("sigmoid", "bco_pair") and recipe.pairs == ((2, 1.0),)
    assert recipe.optional_window == Window() and recipe.target == ("q_proj",)
    assert recipe.specs == [Spec("a")]
    assert from_params(Recipe, {"optional_window": None}, "x").optional_window is None
    assert from_params(Recipe, {"target": "all-linear"}, "x").target == "all-linear"
