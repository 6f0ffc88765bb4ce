"""Phones and laptops on a Q.rad's Wi-Fi access point, as presence trackers.

Like Home Assistant's router integrations: one tracker per client MAC, created
when the client first joins, `not_home` once it leaves, and re-created at every
start from the entity registry, so that clients seen before keep their tracker
while they are away. As for any router, a tracker starts disabled unless another
integration already knows a device with that MAC (ScannerEntity's rule).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import override

from homeassistant.components.device_tracker import (
    DOMAIN as DEVICE_TRACKER_DOMAIN,
    ScannerEntity,
    ScannerEntityDescription,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import WifiClient
from .coordinator import QradConfigEntry, QradCoordinator
from .entity import QradEntity

PARALLEL_UPDATES = 0


@callback
def async_tracks(entry: QradConfigEntry, mac: str) -> bool:
    """Whether this entry has a tracker for the client `mac`.

    The one place that decides which clients are tracked, new or restored: every
    client for now; an option (none, selected, all) can filter here.
    """
    return True


async def async_setup_entry(
    hass: HomeAssistant,
    entry: QradConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Trackers for the clients connected now and those seen before."""
    coordinator = entry.runtime_data
    tracked: set[str] = set()

    @callback
    def async_add(clients: Mapping[str, str | None]) -> None:
        """Add a tracker for each client (MAC to name) that has none yet."""
        new = [
            QradClientTracker(coordinator, mac, name, tracked)
            for mac, name in clients.items()
            if mac not in tracked and async_tracks(entry, mac)
        ]
        if new:
            tracked.update(tracker.mac for tracker in new)
            async_add_entities(new)

    @callback
    def async_add_connected() -> None:
        async_add(
            {client.mac: client.name for client in coordinator.data.state.wifi.clients}
        )

    async_add_connected()
    # Clients seen before, away now: their name is the tracker's, or its device's.
    devices = dr.async_get(hass)
    prefix = f"{coordinator.serial}_"
    async_add(
        {
            entity.unique_id.removeprefix(prefix): entity.original_name
            or (
                device.name
                if entity.device_id
                and (device := devices.async_get(entity.device_id)) is not None
                else None
            )
            for entity in er.async_entries_for_config_entry(
                er.async_get(hass), entry.entry_id
            )
            if entity.domain == DEVICE_TRACKER_DOMAIN
            and entity.unique_id.startswith(prefix)
        }
    )
    entry.async_on_unload(coordinator.async_add_listener(async_add_connected))


class QradClientTracker(QradEntity, ScannerEntity):
    """Whether one client is connected to the Q.rad's access point."""

    def __init__(
        self,
        coordinator: QradCoordinator,
        mac: str,
        name: str | None,
        tracked: set[str],
    ) -> None:
        """Track the client `mac`, named as it last called itself."""
        super().__init__(coordinator, ScannerEntityDescription(key=mac))
        self.mac = mac
        self._tracked = tracked
        self._hostname = name if name != mac else None

    @property
    def _client(self) -> WifiClient | None:
        return next(
            (
                client
                for client in self.coordinator.data.state.wifi.clients
                if client.mac == self.mac
            ),
            None,
        )

    @property
    @override
    def unique_id(self) -> str | None:
        """`<serial>_<mac>`: a phone that roams between Q.rads has one per Q.rad."""
        return self._attr_unique_id

    @property
    @override
    def mac_address(self) -> str:
        return self.mac

    @property
    @override
    def is_connected(self) -> bool:
        return self._client is not None

    @property
    @override
    def ip_address(self) -> str | None:
        return client.ip if (client := self._client) is not None else None

    @property
    @override
    def hostname(self) -> str | None:
        """The name the client gave, kept while it is away (as routers do)."""
        return self._hostname

    @property
    @override
    def name(self) -> str | None:
        """The client's name; none once linked to its device, which is named so."""
        if self.registry_entry is not None and self.registry_entry.device_id:
            return None
        return self._hostname or self.mac

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Follow the name the client gives itself."""
        if (client := self._client) is not None and client.name:
            self._hostname = client.name
        super()._handle_coordinator_update()

    @override
    async def async_will_remove_from_hass(self) -> None:
        """Forget the client, so that a tracker whose device was deleted can return."""
        await super().async_will_remove_from_hass()
        self._tracked.discard(self.mac)
