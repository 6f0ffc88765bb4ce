"""What a Q.rad's entry remembers across restarts of Home Assistant.

When each Wi-Fi client was last seen (so that trackers of clients gone for
good are removed, however often Home Assistant restarts), and a running window
pause (so that the setpoint it saved is restored even after a restart).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN

STORAGE_VERSION = 1
# Last-seen times are kept to the hour (staleness counts in days), so that a
# connected client does not rewrite the file at every push; saved a minute later.
SEEN_RESOLUTION = timedelta(hours=1)
SEEN_SAVE_DELAY_S = 60.0


def storage_key(entry_id: str) -> str:
    """The storage file of one Q.rad entry."""
    return f"{DOMAIN}.memory.{entry_id}"


class QradMemory:
    """One Q.rad entry's remembered facts."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Nothing known until `async_load`."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, storage_key(entry_id)
        )
        self.clients_seen: dict[str, datetime] = {}
        self.window_pause: dict[str, Any] | None = None

    async def async_load(self) -> None:
        """Read what the last run left; anything unreadable is forgotten."""
        data = await self._store.async_load() or {}
        seen = data.get("clients_seen")
        for mac, when in (seen if isinstance(seen, dict) else {}).items():
            if isinstance(when, str) and (parsed := dt_util.parse_datetime(when)):
                self.clients_seen[str(mac)] = parsed
        pause = data.get("window_pause")
        self.window_pause = pause if isinstance(pause, dict) else None

    @callback
    def async_seen(self, mac: str, when: datetime) -> None:
        """Client `mac` was connected at `when`."""
        known = self.clients_seen.get(mac)
        if known is None or when - known >= SEEN_RESOLUTION:
            self.clients_seen[mac] = when
            self._store.async_delay_save(self._data, SEEN_SAVE_DELAY_S)

    @callback
    def async_forget(self, mac: str) -> None:
        """Client `mac`'s tracker is gone."""
        if self.clients_seen.pop(mac, None) is not None:
            self._store.async_delay_save(self._data, SEEN_SAVE_DELAY_S)

    async def async_set_window_pause(self, pause: dict[str, Any] | None) -> None:
        """Keep (or clear) the running window pause, on disk at once."""
        self.window_pause = pause
        await self._store.async_save(self._data())

    def _data(self) -> dict[str, Any]:
        return {
            "clients_seen": {
                mac: when.isoformat() for mac, when in self.clients_seen.items()
            },
            "window_pause": self.window_pause,
        }


async def async_remove_memory(hass: HomeAssistant, entry_id: str) -> None:
    """Delete a removed entry's file."""
    await Store[dict[str, Any]](
        hass, STORAGE_VERSION, storage_key(entry_id)
    ).async_remove()
