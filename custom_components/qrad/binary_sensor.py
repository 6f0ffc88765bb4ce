"""Yes/no facts of a Q.rad: heating, its cloud link, a phone on its charger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .api import HvacAction
from .coordinator import QradConfigEntry, QradData
from .entity import QradEntity

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class QradBinarySensorDescription(BinarySensorEntityDescription):
    """How to read one yes/no fact from a Q.rad's data."""

    is_on_fn: Callable[[QradData], bool]


BINARY_SENSORS: tuple[QradBinarySensorDescription, ...] = (
    QradBinarySensorDescription(
        key="heating",
        translation_key="heating",
        device_class=BinarySensorDeviceClass.HEAT,
        is_on_fn=lambda data: data.state.thermostat.hvac_action is HvacAction.HEATING,
    ),
    QradBinarySensorDescription(
        key="cloud_connected",
        translation_key="cloud_connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=lambda data: data.state.cloud.connected,
    ),
    QradBinarySensorDescription(
        key="phone_on_charger",
        translation_key="phone_on_charger",
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
    async_add_entities(
        QradBinarySensor(coordinator, description) for description in BINARY_SENSORS
    )


class QradBinarySensor(QradEntity, BinarySensorEntity):
    """One yes/no fact of a Q.rad."""

    entity_description: QradBinarySensorDescription

    @property
    def is_on(self) -> bool:
        """Read the fact from the latest data."""
        return self.entity_description.is_on_fn(self.coordinator.data)
