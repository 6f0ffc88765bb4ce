"""The Q.rad as a thermostat."""

from __future__ import annotations

from datetime import datetime
from typing import Any, override

from homeassistant.components.climate import (
    ATTR_HVAC_MODE,
    ClimateEntity,
    ClimateEntityDescription,
    ClimateEntityFeature,
    HVACAction,
    HVACMode,
)
from homeassistant.const import ATTR_TEMPERATURE, UnitOfTemperature
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .api import HvacAction, HvacMode, Preset, Thermostat
from .coordinator import QradConfigEntry, QradCoordinator
from .entity import QradEntity
from .helpers import qrad_command

PARALLEL_UPDATES = 0

TO_HA_MODE = {
    HvacMode.HEAT: HVACMode.HEAT,
    HvacMode.OFF: HVACMode.OFF,
    HvacMode.AUTO: HVACMode.AUTO,
}
FROM_HA_MODE = {ha: qrad for qrad, ha in TO_HA_MODE.items()}
TO_HA_ACTION = {
    HvacAction.HEATING: HVACAction.HEATING,
    HvacAction.IDLE: HVACAction.IDLE,
    HvacAction.OFF: HVACAction.OFF,
}
# The plan's next change (docs/protocol.md 6.11), as the climate entity shows it.
ATTR_NEXT_CHANGE = "next_planned_change"
ATTR_NEXT_TARGET = "next_planned_temperature"
ATTR_HEATING_AHEAD_SINCE = "heating_ahead_since"
THERMOSTAT = ClimateEntityDescription(key="thermostat", translation_key="thermostat")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: QradConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One thermostat per Q.rad."""
    async_add_entities([QradClimate(entry.runtime_data)])


class QradClimate(QradEntity, ClimateEntity):
    """Target temperature, mode and preset of a Q.rad, with what it is doing."""

    _attr_name = None
    _attr_native_temperature_unit = UnitOfTemperature.CELSIUS
    _attr_hvac_modes = list(TO_HA_MODE.values())
    _attr_preset_modes = [preset.value for preset in Preset]
    _attr_supported_features = (
        ClimateEntityFeature.TARGET_TEMPERATURE
        | ClimateEntityFeature.PRESET_MODE
        | ClimateEntityFeature.TURN_ON
        | ClimateEntityFeature.TURN_OFF
    )

    def __init__(self, coordinator: QradCoordinator) -> None:
        """Describe the thermostat of one Q.rad."""
        super().__init__(coordinator, THERMOSTAT)
        # The planned change the cloud heats ahead for, and since when it says so.
        self._heating_ahead: tuple[datetime, datetime] | None = None

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Note when the cloud starts heating ahead of a planned change, then write."""
        cloud = self.coordinator.data.cloud_status
        heating_for = cloud.preheating_for if cloud is not None else None
        if heating_for is None:
            self._heating_ahead = None
        elif self._heating_ahead is None or self._heating_ahead[0] != heating_for:
            self._heating_ahead = (heating_for, dt_util.utcnow())
        super()._handle_coordinator_update()

    @property
    def _thermostat(self) -> Thermostat:
        return self.coordinator.data.state.thermostat

    @override
    def _shown(self) -> tuple[object, ...]:
        cloud = self.coordinator.data.cloud_status
        return (
            self._thermostat,
            self.native_current_temperature,
            self.current_humidity,
            self.hvac_mode,
            self.coordinator.plan,
            cloud.preheating_for if cloud is not None else None,
        )

    @property
    def native_current_temperature(self) -> float:
        return self.coordinator.data.state.sensors.temperature

    @property
    @override
    def current_humidity(self) -> float:
        return self.coordinator.data.state.sensors.humidity

    @property
    def native_target_temperature(self) -> float:
        return self._thermostat.target_temperature

    # Home Assistant 2026.10, the floor (README, Requirements), reads the names
    # without native_; 2026.11 reads the native ones, and says nothing of the old
    # ones in a class that also has the native ones. Drop these with 2026.10.
    _attr_temperature_unit = _attr_native_temperature_unit
    current_temperature = native_current_temperature
    target_temperature = native_target_temperature

    @property
    @override
    def min_temp(self) -> float:
        return self._thermostat.min_temperature

    @property
    @override
    def max_temp(self) -> float:
        return self._thermostat.max_temperature

    @property
    @override
    def target_temperature_step(self) -> float:
        return self._thermostat.step

    @property
    @override
    def hvac_mode(self) -> HVACMode | None:
        """The mode the owner chose: a window pause does not change it.

        During a pause the Q.rad itself is off (`hvac_action` says so, and the
        window binary sensor is on); the mode shown is the one it gets back.
        """
        mode = self.coordinator.window.shown_mode(self._thermostat.hvac_mode)
        return TO_HA_MODE[mode] if mode is not None else None

    @property
    @override
    def hvac_action(self) -> HVACAction | None:
        """What the Q.rad does; `preheating` while the cloud heats ahead of the plan."""
        action = self._thermostat.hvac_action
        cloud = self.coordinator.data.cloud_status
        if (
            action is HvacAction.HEATING
            and cloud is not None
            and cloud.preheating_for is not None
        ):
            return HVACAction.PREHEATING
        return TO_HA_ACTION[action] if action is not None else None

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The plan's next change sent to the cloud, and whether it heats for it."""
        plan = self.coordinator.plan
        if plan is None:
            return None
        upcoming = [change for change in plan.changes if change.at > dt_util.utcnow()]
        cloud = self.coordinator.data.cloud_status
        if not upcoming:
            return {ATTR_NEXT_CHANGE: None}
        change = upcoming[0]
        since = None
        if cloud is not None and self._heating_ahead is not None:
            heating_for, seen_at = self._heating_ahead
            if heating_for == cloud.preheating_for == change.at:
                since = seen_at.isoformat()
        return {
            ATTR_NEXT_CHANGE: change.at.isoformat(),
            ATTR_NEXT_TARGET: change.target_temperature,
            ATTR_HEATING_AHEAD_SINCE: since,
        }

    @property
    @override
    def preset_mode(self) -> str | None:
        preset = self._thermostat.preset
        return preset.value if preset is not None else None

    @override
    async def async_set_temperature(self, **kwargs: Any) -> None:
        """Set the target (and the mode, when the call gives one)."""
        await self._async_set_temperature(kwargs)

    @qrad_command
    async def _async_set_temperature(self, values: dict[str, Any]) -> None:
        mode = values.get(ATTR_HVAC_MODE)
        await self.coordinator.async_set_thermostat(
            target_temperature=values[ATTR_TEMPERATURE],
            hvac_mode=FROM_HA_MODE[mode] if mode is not None else None,
            origin=self._origin,
        )

    @qrad_command
    @override
    async def async_set_hvac_mode(self, hvac_mode: HVACMode) -> None:
        """Heat, off, or follow the Q.rad's day schedule."""
        await self.coordinator.async_set_thermostat(
            hvac_mode=FROM_HA_MODE[hvac_mode], origin=self._origin
        )

    @qrad_command
    @override
    async def async_set_preset_mode(self, preset_mode: str) -> None:
        """Switch to a preset; its temperature comes from the Q.rad."""
        await self.coordinator.async_set_thermostat(
            preset=Preset(preset_mode), origin=self._origin
        )

    @override
    async def async_turn_on(self) -> None:
        await self.async_set_hvac_mode(HVACMode.HEAT)

    @override
    async def async_turn_off(self) -> None:
        await self.async_set_hvac_mode(HVACMode.OFF)
