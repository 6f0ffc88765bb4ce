"""Diagnostics of a Q.rad entry, with every secret and identifier redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_TOKEN
from homeassistant.core import HomeAssistant

from .account import async_get_hub, is_account_entry
from .const import CONF_ACCOUNT, CONF_TOKEN_ID
from .coordinator import QradAnyEntry

TO_REDACT = {
    CONF_TOKEN,
    CONF_TOKEN_ID,
    "mac",
    "ssid",
    "ip",
    "url",
    "title",
    "serial",
    CONF_PASSWORD,
    CONF_ACCOUNT,
    # Wi-Fi clients' names are their owners' ("Anna's phone").
    "name",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: QradAnyEntry
) -> dict[str, Any]:
    """A Q.rad: its settings, push link, state and cloud status; or an account."""
    entry_data = {"data": dict(entry.data), "options": dict(entry.options)}
    if is_account_entry(entry):
        hub = async_get_hub(hass, entry.data[CONF_ACCOUNT])
        result: dict[str, Any] = {
            "entry": entry_data,
            "connected": hub.connected,
            "controller_online": hub.cloud.controller_online if hub.cloud else None,
            "setpoints_waiting": len(hub.outbox.pending),
            "qrads_known": len(hub.outbox.last_seq),
        }
        return async_redact_data(result, TO_REDACT)
    coordinator = entry.runtime_data
    status = coordinator.data.cloud_status
    result = {
        "entry": entry_data,
        "push_connected": coordinator.push_connected,
        "cloud_connected": coordinator.cloud_connected,
        "settings": coordinator.settings(),
        "state": coordinator.data.state.to_dict(),
        "compute": status.to_dict() if status else None,
    }
    return async_redact_data(result, TO_REDACT)
