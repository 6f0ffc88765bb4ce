"""Yes/no facts of a Q.rad: heating, its cloud link, a phone, an open window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import HvacAction
from .coordinator import QradConfigEntry, QradCoordinator, QradData
from .entity import QradEntity

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class QradBinarySensorDescription(BinarySensorEntityDescription):
    """How to read one yes/no fact from a Q.rad's data."""

    is_on_fn: Callable[[QradData], bool]


BINARY_SENSORS: tuple[QradBinarySensorDescription, ...] = (
    # Disabled by default: the thermostat's action (heating, idle, preheating)
    # already says it, and automations read it there.
    QradBinarySensorDescription(
        key="heating",
        translation_key="heating",
        device_class=BinarySensorDeviceClass.HEAT,
        entity_registry_enabled_default=False,
        is_on_fn=lambda data: data.state.thermostat.hvac_action is HvacAction.HEATING,
    ),
    # Disabled by default: a repair issue says when the cloud stays away; this
    # is for diagnosing a single Q.rad's link.
    QradBinarySensorDescription(
        key="cloud_connected",
        translation_key="cloud_connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        is_on_fn=lambda data: data.state.cloud.connected,
    ),
    # Disabled by default: phone charging covers what an owner asks (is my
    # phone charging?); a phone lying on a full battery is rarely news.
    QradBinarySensorDescription(
        key="phone_on_charger",
        translation_key="phone_on_charger",
        entity_registry_enabled_default=False,
        is_on_fn=lambda data: data.state.charger.phone_present,
    ),
    QradBinarySensorDescription(
        key="phone_charging",
        translation_key="phone_charging",
        device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
        is_on_fn=lambda data: data.state.charger.charging,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: QradConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Every yes/no fact of the Q.rad."""
    coordinator = entry.runtime_data
    entities: list[BinarySensorEntity] = [
        QradBinarySensor(coordinator, description) for description in BINARY_SENSORS
    ]
    entities.append(QradWindowSensor(coordinator))
    async_add_entities(entities)


class QradBinarySensor(QradEntity, BinarySensorEntity):
    """One yes/no fact of a Q.rad."""

    entity_description: QradBinarySensorDescription

    @property
    def is_on(self) -> bool:
        """Read the fact from the latest data."""
        return self.entity_description.is_on_fn(self.coordinator.data)


WINDOW = BinarySensorEntityDescription(
    key="window",
    translation_key="window",
    device_class=BinarySensorDeviceClass.WINDOW,
)


class QradWindowSensor(QradEntity, BinarySensorEntity):
    """An open window pauses the heating (window.py): on while it does."""

    def __init__(self, coordinator: QradCoordinator) -> None:
        """Describe the open-window sensor of one Q.rad."""
        super().__init__(coordinator, WINDOW)

    @property
    @override
    def is_on(self) -> bool:
        return self.coordinator.window.is_open

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """What opened it (a temperature drop or the contact) and until when."""
        return self.coordinator.window.attributes()
