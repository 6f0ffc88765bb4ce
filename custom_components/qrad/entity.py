"""Base class of every Q.rad entity: one device per Q.rad, named after its room."""

from __future__ import annotations

from typing import override

from homeassistant.components.homeassistant.const import DATA_EXPOSED_ENTITIES
from homeassistant.components.homeassistant.exposed_entities import (
    async_should_expose,
)
from homeassistant.core import callback
from homeassistant.helpers.device_registry import CONNECTION_NETWORK_MAC, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api.cloud_models import Origin
from .const import DOMAIN, MANUFACTURER
from .coordinator import QradCoordinator

# The assistant whose exposure Home Assistant settles at start: its own, Assist.
ASSIST = "conversation"


class QradEntity(CoordinatorEntity[QradCoordinator]):
    """An entity of one Q.rad, unique by serial and description key.

    A Q.rad pushes every second, mostly meters: rewriting all its entities each
    time would cost Home Assistant a state computation per entity for nothing
    (README, Performance). So an entity is written only when what it shows changed.
    """

    _attr_has_entity_name = True
    # What the entity showed at its last write from the coordinator.
    _written: object = None

    def __init__(
        self, coordinator: QradCoordinator, description: EntityDescription
    ) -> None:
        """Attach the entity to its Q.rad's device entry."""
        super().__init__(coordinator)
        self.entity_description = description
        device = coordinator.data.state.device
        self._attr_unique_id = f"{device.serial}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, device.serial)},
            connections={(CONNECTION_NETWORK_MAC, device.mac)},
            serial_number=device.serial,
            manufacturer=MANUFACTURER,
            model=device.model,
            name=device.name,
            sw_version=device.firmware,
            configuration_url=coordinator.device.page_url,
        )

    def _shown(self) -> object:
        """What the state is made of, cheap to compare: its state and attributes.

        Entities whose attributes are computed from more than they show (the
        thermostat, the speaker, a Wi-Fi client) say what they are made of instead,
        and a sensor, whose state converts and rounds, gives its native value.
        """
        return self.state, self.extra_state_attributes

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the coordinator, and settle Assist's exposure now.

        Home Assistant settles the exposure of the entities it started with in
        one pass inside its started event, and each settlement queues a registry
        update and a state write behind that event: a building's thousands of
        new entities overflow the bus's guard of 10,000 queued events, and the
        pass stops in thousands of tracebacks that hold the loop for seconds
        (README, Performance). Settled here, by Home Assistant's own rule and
        once per entity, the pass finds nothing left to do.
        """
        await super().async_added_to_hass()
        if DATA_EXPOSED_ENTITIES in self.hass.data:
            async_should_expose(self.hass, ASSIST, self.entity_id)

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Write the state when what it shows changed, and only then."""
        shown = (self.available, self._shown())
        if shown == self._written:
            return
        self._written = shown
        self.async_write_ha_state()

    @property
    def _origin(self) -> Origin:
        """Who asked, for the cloud: a person (UI, app, voice) or an automation."""
        if self._context is not None and self._context.user_id is not None:
            return Origin.USER
        return Origin.AUTOMATION
