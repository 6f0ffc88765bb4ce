"""The selectors the config and options flows show, each declared once."""

from __future__ import annotations

from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

# The presets an owner names a temperature for (boost and none have none).
PRESETS = ("comfort", "eco", "away", "frost_protection")

PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))


def number_box(low: float, high: float, step: float, unit: str) -> NumberSelector:
    """A number typed in a box: a temperature, minutes or days within a range."""
    return NumberSelector(
        NumberSelectorConfig(
            min=low,
            max=high,
            step=step,
            unit_of_measurement=unit,
            mode=NumberSelectorMode.BOX,
        )
    )


def preset(translation_key: str) -> SelectSelector:
    """One of the presets, named in the owner's language."""
    return SelectSelector(
        SelectSelectorConfig(
            options=list(PRESETS),
            translation_key=translation_key,
            mode=SelectSelectorMode.DROPDOWN,
        )
    )
