"""On/off settings of a Q.rad: access point, charger, open-window detection."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.switch import (
    SwitchDeviceClass,
    SwitchEntity,
    SwitchEntityDescription,
)
from homeassistant.const import STATE_OFF, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .coordinator import QradConfigEntry, QradCoordinator, QradData
from .entity import QradEntity
from .helpers import qrad_command

# One command at a time per Q.rad.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class QradSwitchDescription(SwitchEntityDescription):
    """How to read and write one on/off setting of a Q.rad."""

    is_on_fn: Callable[[QradData], bool]
    turn_fn: Callable[[QradCoordinator, bool], Coroutine[Any, Any, None]]


SWITCHES: tuple[QradSwitchDescription, ...] = (
    QradSwitchDescription(
        key="wifi_access_point",
        translation_key="wifi_access_point",
        device_class=SwitchDeviceClass.SWITCH,
        entity_category=EntityCategory.CONFIG,
        is_on_fn=lambda data: data.state.wifi.enabled,
        turn_fn=lambda coordinator, on: coordinator.async_set_wifi(enabled=on),
    ),
    QradSwitchDescription(
        key="charger",
        translation_key="charger",
        device_class=SwitchDeviceClass.SWITCH,
        entity_category=EntityCategory.CONFIG,
        is_on_fn=lambda data: data.state.charger.enabled,
        turn_fn=lambda coordinator, on: coordinator.async_set_charger(enabled=on),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: QradConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The access point and charger switches of the Q.rad."""
    coordinator = entry.runtime_data
    entities: list[SwitchEntity] = [
        QradSwitch(coordinator, description) for description in SWITCHES
    ]
    entities.append(QradWindowDetection(coordinator))
    async_add_entities(entities)


class QradSwitch(QradEntity, SwitchEntity):
    """One on/off setting of a Q.rad."""

    entity_description: QradSwitchDescription

    @property
    @override
    def is_on(self) -> bool:
        return self.entity_description.is_on_fn(self.coordinator.data)

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        await self._async_turn(on=True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        await self._async_turn(on=False)

    @qrad_command
    async def _async_turn(self, *, on: bool) -> None:
        await self.entity_description.turn_fn(self.coordinator, on)


WINDOW_DETECTION = SwitchEntityDescription(
    key="window_detection",
    translation_key="window_detection",
    device_class=SwitchDeviceClass.SWITCH,
    entity_category=EntityCategory.CONFIG,
)


class QradWindowDetection(QradEntity, SwitchEntity, RestoreEntity):
    """Whether an open window pauses the heating; off bypasses it (window.py).

    A setting of Home Assistant's, not of the Q.rad: kept across restarts.
    """

    def __init__(self, coordinator: QradCoordinator) -> None:
        """Describe the window detection switch of one Q.rad."""
        super().__init__(coordinator, WINDOW_DETECTION)

    @override
    async def async_added_to_hass(self) -> None:
        """Take back the choice made before the restart (on by default)."""
        await super().async_added_to_hass()
        last = await self.async_get_last_state()
        if last is not None and last.state == STATE_OFF:
            self.coordinator.window.async_take_back(enabled=False)

    @property
    @override
    def is_on(self) -> bool:
        return self.coordinator.window.enabled

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        await self.coordinator.window.async_set_enabled(enabled=True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        await self.coordinator.window.async_set_enabled(enabled=False)
