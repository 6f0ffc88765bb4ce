"""Phones and laptops on a Q.rad's Wi-Fi access point, as presence trackers.

Like Home Assistant's router integrations: one tracker per client MAC, created
when the client first joins, `not_home` once it leaves, and re-created at every
start from the entity registry, so that clients seen before keep their tracker
while they are away. Since a tracker exists only because the owner asked for it
(below), it starts enabled, unlike the routers' trackers of unknown MACs.

Unlike most of them, nothing is tracked unless the owner asks: the options say
no client (the default), the selected ones, or all. The "Wi-Fi clients" sensor
counts them all meanwhile. A tracker whose client has not been seen for the
options' number of days is removed by a check that runs every hour, not only at
start-up, and the owner may delete a client's device once it has left.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, override

from homeassistant.components.device_tracker import (
    DOMAIN as DEVICE_TRACKER_DOMAIN,
    ScannerEntity,
    ScannerEntityDescription,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .api import WifiClient
from .const import (
    CONF_SERIAL,
    CONF_STALE_DAYS,
    CONF_TRACK_CLIENTS,
    CONF_TRACKED_CLIENTS,
    DEFAULT_STALE_DAYS,
    DOMAIN,
    LOGGER,
    TRACK_ALL,
    TRACK_NONE,
    TRACK_SELECTED,
)
from .coordinator import QradConfigEntry, QradCoordinator
from .entity import QradEntity

PARALLEL_UPDATES = 0
# How often trackers of clients gone for good are looked for.
STALE_CHECK_INTERVAL = timedelta(hours=1)


@callback
def async_tracks(entry: QradConfigEntry, mac: str) -> bool:
    """Whether this entry has a tracker for the client `mac`.

    The one place that decides which clients are tracked, new or restored: the
    options' choice of none (the default), the selected clients, or all.
    """
    mode = entry.options.get(CONF_TRACK_CLIENTS, TRACK_NONE)
    if mode == TRACK_ALL:
        return True
    if mode == TRACK_SELECTED:
        return mac in entry.options.get(CONF_TRACKED_CLIENTS, ())
    return False


@callback
def async_tracker_entries(
    hass: HomeAssistant, entry: QradConfigEntry, serial: str
) -> dict[str, er.RegistryEntry]:
    """The registered trackers of this entry, by client MAC."""
    prefix = f"{serial}_"
    return {
        entity.unique_id.removeprefix(prefix): entity
        for entity in er.async_entries_for_config_entry(
            er.async_get(hass), entry.entry_id
        )
        if entity.domain == DEVICE_TRACKER_DOMAIN
        and entity.unique_id.startswith(prefix)
    }


@callback
def async_known_clients(
    hass: HomeAssistant, entry: QradConfigEntry, serial: str
) -> dict[str, str | None]:
    """Clients connected now or seen before (with a tracker), MAC to name."""
    devices = dr.async_get(hass)
    known: dict[str, str | None] = {
        mac: entity.original_name
        or (
            device.name
            if entity.device_id
            and (device := devices.async_get(entity.device_id)) is not None
            else None
        )
        for mac, entity in async_tracker_entries(hass, entry, serial).items()
    }
    coordinator: QradCoordinator | None = getattr(entry, "runtime_data", None)
    if coordinator is not None and coordinator.data is not None:
        for client in coordinator.data.state.wifi.clients:
            known[client.mac] = client.name or known.get(client.mac)
    return known


@callback
def async_remove_tracker(
    hass: HomeAssistant, entry: QradConfigEntry, entity: er.RegistryEntry, mac: str
) -> None:
    """Remove a client's tracker, and the device it made for the client."""
    registry = er.async_get(hass)
    registry.async_remove(entity.entity_id)
    if entity.device_id is not None:
        devices = dr.async_get(hass)
        device = devices.async_get(entity.device_id)
        if (
            isinstance(device, dr.DeviceEntry)
            and device.config_entry_id == entry.entry_id
            and (DOMAIN, entry.data[CONF_SERIAL]) not in device.identifiers
            and not er.async_entries_for_device(
                registry, device.id, include_disabled_entities=True
            )
        ):
            devices.async_remove_device(device.id)
    coordinator: QradCoordinator | None = getattr(entry, "runtime_data", None)
    if coordinator is not None:
        coordinator.memory.async_forget(mac)


@callback
def async_remove_stale(
    hass: HomeAssistant, entry: QradConfigEntry, now: datetime
) -> list[str]:
    """Remove the trackers of clients not seen for the options' days; say which."""
    coordinator: QradCoordinator = entry.runtime_data
    memory = coordinator.memory
    limit = timedelta(days=entry.options.get(CONF_STALE_DAYS, DEFAULT_STALE_DAYS))
    connected = {client.mac for client in coordinator.data.state.wifi.clients}
    removed = []
    for mac, entity in async_tracker_entries(hass, entry, coordinator.serial).items():
        seen = memory.clients_seen.get(mac)
        if mac in connected or seen is None:
            # A tracker restored without a record starts its count now.
            memory.async_seen(mac, now)
        elif now - seen > limit:
            LOGGER.debug("Removing the tracker of %s, unseen since %s", mac, seen)
            async_remove_tracker(hass, entry, entity, mac)
            removed.append(mac)
    return removed


class _StaleCheck:
    """Looks for stale trackers every STALE_CHECK_INTERVAL of Home Assistant time."""

    def __init__(self, hass: HomeAssistant, entry: QradConfigEntry) -> None:
        self._hass = hass
        self._entry = entry
        self._cancel: CALLBACK_TYPE | None = None

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        async_remove_stale(self._hass, self._entry, dt_util.utcnow())
        self._schedule()
        return self._stop

    def _schedule(self) -> None:
        self._cancel = async_call_later(
            self._hass, STALE_CHECK_INTERVAL, self._async_check
        )

    @callback
    def _async_check(self, now: datetime) -> None:
        self._cancel = None
        async_remove_stale(self._hass, self._entry, now)
        self._schedule()

    @callback
    def _stop(self) -> None:
        if self._cancel is not None:
            self._cancel()
            self._cancel = None


async def async_setup_entry(
    hass: HomeAssistant,
    entry: QradConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Trackers for the clients the options ask for, connected now or seen before."""
    coordinator = entry.runtime_data
    tracked: set[str] = set()
    # Trackers the options no longer ask for go (the options reload the entry).
    for mac, entity in async_tracker_entries(hass, entry, coordinator.serial).items():
        if not async_tracks(entry, mac):
            async_remove_tracker(hass, entry, entity, mac)

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
        clients = coordinator.data.state.wifi.clients
        now = dt_util.utcnow()
        for client in clients:
            if async_tracks(entry, client.mac):
                coordinator.memory.async_seen(client.mac, now)
        async_add({client.mac: client.name for client in clients})

    async_add_connected()
    # Clients seen before, away now: their name is the tracker's, or its device's.
    async_add(async_known_clients(hass, entry, coordinator.serial))
    entry.async_on_unload(coordinator.async_add_listener(async_add_connected))
    entry.async_on_unload(_StaleCheck(hass, entry).async_start())


class QradClientTracker(QradEntity, ScannerEntity):
    """Whether one client is connected to the Q.rad's access point."""

    # Named as its device: the client.
    _attr_name = None

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
    def entity_registry_enabled_default(self) -> bool:
        """Enabled: the owner chose to track this client (routers ask nobody)."""
        return True

    @property  # type: ignore[misc]
    @override
    def device_info(self) -> DeviceInfo:
        """The client's own device, known by its MAC.

        Home Assistant 2026.11 asks every ScannerEntity for this (its fallback
        ends in 2027.11); 2026.10 marks the property final but reads it the same
        way, so both versions make the same device.
        """
        return DeviceInfo(
            connections={(dr.CONNECTION_NETWORK_MAC, self.mac)},
            name=self._hostname or self.mac,
        )

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

    @override
    def _shown(self) -> tuple[bool, dict[str, Any]]:
        """Connected, and the attributes (address, name, the zones around home)."""
        return self.is_connected, self.state_attributes

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
