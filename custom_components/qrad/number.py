"""Numeric settings of a Q.rad: the cap on the power the cloud may allocate."""

from __future__ import annotations

from typing import override

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import EntityCategory, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import QradConfigEntry, QradCoordinator
from .entity import QradEntity
from .helpers import qrad_command

# Writes go through the Q.rad's coalescing writer: a slider drag is one write.
PARALLEL_UPDATES = 0

POWER_LIMIT = NumberEntityDescription(
    key="power_limit",
    translation_key="power_limit",
    device_class=NumberDeviceClass.POWER,
    native_unit_of_measurement=UnitOfPower.WATT,
    native_min_value=0,
    native_max_value=500,
    native_step=10,
    mode=NumberMode.SLIDER,
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: QradConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The power limit of the Q.rad."""
    async_add_entities([QradPowerLimit(entry.runtime_data)])


class QradPowerLimit(QradEntity, NumberEntity):
    """The most the Q.rad may draw, whoever asks: the cloud or its own thermostat.

    Written to the Q.rad (`PATCH /power`), which caps its local thermostat with
    it, and forwarded in every setpoint to the cloud, which caps its allocation.
    """

    def __init__(self, coordinator: QradCoordinator) -> None:
        """Describe the power limit of one Q.rad."""
        super().__init__(coordinator, POWER_LIMIT)

    @property
    @override
    def native_value(self) -> float:
        return self.coordinator.data.state.power.power_limit_w

    @qrad_command
    @override
    async def async_set_native_value(self, value: float) -> None:
        await self.coordinator.async_set_power_limit(
            float(round(value)), origin=self._origin
        )
