"""Every string a user can see exists in English and in French."""

from __future__ import annotations

import json
from pathlib import Path
import re

PACKAGE = Path(__file__).parents[2] / "custom_components" / "qrad"
PLACEHOLDER = re.compile(r"\{\w+\}")


def flatten(tree: dict[str, object], prefix: str = "") -> dict[str, str]:
    """Translation paths to their text."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


def load(name: str) -> dict[str, str]:
    """One translation file, flattened."""
    return flatten(json.loads((PACKAGE / name).read_text(encoding="utf-8")))


def test_english_is_strings_json() -> None:
    """translations/en.json is what strings.json says, word for word."""
    assert load("translations/en.json") == load("strings.json")


def test_french_covers_english_with_the_same_placeholders() -> None:
    """Nothing is left untranslated, and every placeholder survives translation."""
    english, french = load("translations/en.json"), load("translations/fr.json")
    assert english.keys() == french.keys()
    for key, text in english.items():
        assert set(PLACEHOLDER.findall(text)) == set(
            PLACEHOLDER.findall(french[key])
        ), key
