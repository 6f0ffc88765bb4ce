"""Diagnostics of a Q.rad entry, with every secret and identifier redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant

from .const import CONF_TOKEN_ID
from .coordinator import QradConfigEntry

TO_REDACT = {
    CONF_TOKEN,
    CONF_TOKEN_ID,
    "mac",
    "ssid",
    "ip",
    "url",
    "title",
    "serial",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: QradConfigEntry
) -> dict[str, Any]:
    """The entry's settings, the push link, and the Q.rad's state."""
    coordinator = entry.runtime_data
    result: dict[str, Any] = {
        "entry": {"data": dict(entry.data), "options": dict(entry.options)},
        "push_connected": coordinator.push_connected,
        "state": coordinator.data.state.to_dict(),
    }
    return async_redact_data(result, TO_REDACT)
