"""An open window pauses the heating, and its compute, then the setpoint comes back.

The emulated Q.rad's `window_open` event lets outdoor air in (an extra loss
through its room model), so its temperature falls as a real room's does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.components.climate import (
    ATTR_HVAC_ACTION,
    ATTR_HVAC_MODE,
    DOMAIN as CLIMATE_DOMAIN,
    SERVICE_SET_HVAC_MODE,
    SERVICE_SET_TEMPERATURE,
    HVACAction,
    HVACMode,
)
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_TEMPERATURE,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    EntityCategory,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.qrad.const import (
    CONF_WINDOW_DROP,
    CONF_WINDOW_MINUTES,
    CONF_WINDOW_PAUSE,
    CONF_WINDOW_SENSOR,
    DOMAIN,
)
from custom_components.qrad.diagnostics import async_get_config_entry_diagnostics
from simulator.device.server import UnitServer
from simulator.testing import CloudWorld

from .surroundings import emulate
from .test_cloud import climate_entity, pair_with_account
from .waiting import wait_for

CLIMATE = "climate.living_room"
WINDOW = "binary_sensor.living_room_open_window"
DETECTION = "switch.living_room_window_detection"
CONTACT = "binary_sensor.living_room_window_contact"


def state(hass: HomeAssistant, entity_id: str) -> str:
    """The state an entity shows."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


def attribute(hass: HomeAssistant, entity_id: str, name: str) -> Any:
    """One attribute an entity shows."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.attributes.get(name)


async def call(hass: HomeAssistant, domain: str, service: str, **data: Any) -> None:
    """Call an action and wait for it."""
    await hass.services.async_call(domain, service, data, blocking=True)


async def heat_to(hass: HomeAssistant, entity_id: str, target: float) -> None:
    """Ask for a warm room, so that the Q.rad heats."""
    await call(
        hass,
        CLIMATE_DOMAIN,
        SERVICE_SET_TEMPERATURE,
        entity_id=entity_id,
        temperature=target,
    )
    await wait_for(
        hass, lambda: attribute(hass, entity_id, ATTR_HVAC_ACTION) == HVACAction.HEATING
    )


async def later(hass: HomeAssistant, minutes: float) -> None:
    """Let Home Assistant's time run `minutes` ahead."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=minutes))
    await hass.async_block_till_done()


async def set_options(hass: HomeAssistant, entry: ConfigEntry, **answer: Any) -> None:
    """Fill the window step of the options (the entry reloads)."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "window"}
    )
    assert result["step_id"] == "window"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_WINDOW_DROP: 1.0, CONF_WINDOW_MINUTES: 5, CONF_WINDOW_PAUSE: 15} | answer,
    )
    await hass.async_block_till_done()
    await wait_for(hass, lambda: entry.runtime_data.push_connected)


async def test_window_entities(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A window binary sensor, and a detection switch among the settings, on."""
    registry = er.async_get(hass)
    window = registry.async_get(WINDOW)
    assert window is not None
    assert window.original_device_class == BinarySensorDeviceClass.WINDOW
    assert state(hass, WINDOW) == STATE_OFF
    detection = registry.async_get(DETECTION)
    assert detection is not None
    assert detection.entity_category is EntityCategory.CONFIG
    assert state(hass, DETECTION) == STATE_ON


async def test_a_sharp_drop_pauses_heating_and_compute_then_restores(
    hass: HomeAssistant, cloud_world: CloudWorld
) -> None:
    """The room falls 1 °C while heating: off on the Q.rad and in the cloud, 15 min."""
    unit = cloud_world.fleet.units[0]
    entry = await pair_with_account(hass, cloud_world, unit)
    climate = climate_entity(hass, unit)
    window = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{unit.unit.identity.serial}_window"
    )
    assert window is not None
    ledger = cloud_world.controller.scheduler.ledgers[unit.unit.identity.serial]
    await heat_to(hass, climate, 25.0)
    await wait_for(hass, lambda: ledger.power_target_w > 0)

    await emulate(unit, event="window_open", minutes=30)
    await wait_for(hass, lambda: state(hass, window) == STATE_ON)
    # Paused: off on the Q.rad and in the cloud; the owner's mode is untouched.
    await wait_for(hass, lambda: unit.unit.thermostat.hvac_mode == "off")
    assert state(hass, climate) == HVACMode.HEAT
    await wait_for(
        hass, lambda: attribute(hass, climate, ATTR_HVAC_ACTION) == HVACAction.OFF
    )
    assert attribute(hass, window, "cause") == "temperature"
    await wait_for(
        hass,
        lambda: ledger.setpoint is not None and ledger.setpoint.hvac_mode == "off",
    )
    await wait_for(hass, lambda: ledger.power_target_w == 0)
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["settings"]["window_pause"]["hvac_mode"] == "heat"

    await emulate(unit, event="window_close")
    await later(hass, 14)
    assert state(hass, window) == STATE_ON
    await later(hass, 16)
    await wait_for(hass, lambda: state(hass, window) == STATE_OFF)
    await wait_for(hass, lambda: unit.unit.thermostat.hvac_mode == "heat")
    assert unit.unit.thermostat.target == 25.0
    await wait_for(
        hass,
        lambda: ledger.setpoint is not None and ledger.setpoint.hvac_mode == "heat",
    )


async def test_the_switch_bypasses_detection(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """Detection off ends a pause at once, and the room may then cool: heat goes on."""
    await heat_to(hass, CLIMATE, 25.0)
    await emulate(qrad_unit, event="window_open", minutes=60)
    await wait_for(hass, lambda: state(hass, WINDOW) == STATE_ON)
    await wait_for(hass, lambda: qrad_unit.unit.thermostat.hvac_mode == "off")

    await call(hass, SWITCH_DOMAIN, SERVICE_TURN_OFF, entity_id=DETECTION)
    assert state(hass, DETECTION) == STATE_OFF
    assert state(hass, WINDOW) == STATE_OFF
    assert qrad_unit.unit.thermostat.hvac_mode == "heat"
    before = qrad_unit.unit.room.temperature
    await wait_for(hass, lambda: qrad_unit.unit.room.temperature < before - 1.0)
    await hass.async_block_till_done()
    assert state(hass, WINDOW) == STATE_OFF
    assert qrad_unit.unit.thermostat.hvac_mode == "heat"
    assert attribute(hass, CLIMATE, ATTR_HVAC_ACTION) == HVACAction.HEATING
    # Kept across a restart of the entry.
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert state(hass, DETECTION) == STATE_OFF
    await call(hass, SWITCH_DOMAIN, SERVICE_TURN_ON, entity_id=DETECTION)
    assert state(hass, DETECTION) == STATE_ON


async def test_a_mode_chosen_during_the_pause_is_the_one_restored(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """The thermostat shows the owner's mode; the Q.rad gets it at the end."""
    await heat_to(hass, CLIMATE, 25.0)
    await emulate(qrad_unit, event="window_open", minutes=30)
    await wait_for(hass, lambda: state(hass, WINDOW) == STATE_ON)
    await wait_for(hass, lambda: qrad_unit.unit.thermostat.hvac_mode == "off")
    await emulate(qrad_unit, event="window_close")

    await call(
        hass,
        CLIMATE_DOMAIN,
        SERVICE_SET_HVAC_MODE,
        entity_id=CLIMATE,
        hvac_mode=HVACMode.AUTO,
    )
    assert state(hass, CLIMATE) == HVACMode.AUTO
    assert qrad_unit.unit.thermostat.hvac_mode == "off"
    # A target is written at once; the mode waits.
    await call(
        hass,
        CLIMATE_DOMAIN,
        SERVICE_SET_TEMPERATURE,
        entity_id=CLIMATE,
        temperature=24.0,
    )
    assert qrad_unit.unit.thermostat.target == 24.0
    assert qrad_unit.unit.thermostat.hvac_mode == "off"
    assert state(hass, CLIMATE) == HVACMode.AUTO

    await later(hass, 16)
    await wait_for(hass, lambda: qrad_unit.unit.thermostat.hvac_mode == "auto")
    assert state(hass, WINDOW) == STATE_OFF
    assert state(hass, CLIMATE) == HVACMode.AUTO


async def test_a_pause_survives_a_restart(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """Home Assistant restarts during a pause: it still ends, and restores heat."""
    await heat_to(hass, CLIMATE, 25.0)
    await emulate(qrad_unit, event="window_open", minutes=30)
    await wait_for(hass, lambda: state(hass, WINDOW) == STATE_ON)
    await wait_for(hass, lambda: qrad_unit.unit.thermostat.hvac_mode == "off")
    await emulate(qrad_unit, event="window_close")
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert qrad_unit.unit.thermostat.hvac_mode == "off"
    assert state(hass, WINDOW) == STATE_ON
    assert state(hass, CLIMATE) == HVACMode.HEAT

    await later(hass, 16)
    await wait_for(hass, lambda: qrad_unit.unit.thermostat.hvac_mode == "heat")
    assert state(hass, WINDOW) == STATE_OFF


async def test_a_window_contact_pauses_until_it_closes(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """The contact chosen in the options: open pauses, closed restores."""
    hass.states.async_set(
        CONTACT, STATE_OFF, {ATTR_DEVICE_CLASS: BinarySensorDeviceClass.WINDOW}
    )
    await set_options(hass, init_integration, window_sensor=CONTACT)
    assert init_integration.options[CONF_WINDOW_SENSOR] == CONTACT
    await call(
        hass,
        CLIMATE_DOMAIN,
        SERVICE_SET_TEMPERATURE,
        entity_id=CLIMATE,
        temperature=21.0,
    )

    hass.states.async_set(
        CONTACT, STATE_ON, {ATTR_DEVICE_CLASS: BinarySensorDeviceClass.WINDOW}
    )
    await wait_for(hass, lambda: state(hass, WINDOW) == STATE_ON)
    assert attribute(hass, WINDOW, "cause") == "contact"
    await wait_for(hass, lambda: qrad_unit.unit.thermostat.hvac_mode == "off")
    # However long it stays open, the heating waits for it.
    await later(hass, 60)
    assert qrad_unit.unit.thermostat.hvac_mode == "off"

    hass.states.async_set(
        CONTACT, STATE_OFF, {ATTR_DEVICE_CLASS: BinarySensorDeviceClass.WINDOW}
    )
    await wait_for(hass, lambda: qrad_unit.unit.thermostat.hvac_mode == "heat")
    assert state(hass, WINDOW) == STATE_OFF
    assert qrad_unit.unit.thermostat.target == 21.0

    # Cleared in the options: the contact no longer counts.
    await set_options(hass, init_integration)
    assert CONF_WINDOW_SENSOR not in init_integration.options
    hass.states.async_set(
        CONTACT, STATE_ON, {ATTR_DEVICE_CLASS: BinarySensorDeviceClass.WINDOW}
    )
    await hass.async_block_till_done()
    assert state(hass, WINDOW) == STATE_OFF
    assert qrad_unit.unit.thermostat.hvac_mode == "heat"


async def test_no_pause_when_heating_is_off(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A room that cools with its heating off is no open window."""
    await call(
        hass,
        CLIMATE_DOMAIN,
        SERVICE_SET_HVAC_MODE,
        entity_id=CLIMATE,
        hvac_mode=HVACMode.OFF,
    )
    before = qrad_unit.unit.room.temperature
    await emulate(qrad_unit, event="window_open", minutes=30)
    await wait_for(hass, lambda: qrad_unit.unit.room.temperature < before - 1.5)
    await hass.async_block_till_done()
    assert state(hass, WINDOW) == STATE_OFF
    assert state(hass, CLIMATE) == HVACMode.OFF
    assert attribute(hass, CLIMATE, ATTR_TEMPERATURE) is not None
    assert attribute(hass, CLIMATE, ATTR_HVAC_MODE) is None


async def test_a_room_steady_for_longer_than_the_window_is_watched_on(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The same reading before and after the window: no error, no pause."""
    coordinator = init_integration.runtime_data
    state = coordinator.data.state
    heating = replace(
        state,
        thermostat=replace(
            state.thermostat, target_temperature=state.sensors.temperature + 2.0
        ),
    )
    coordinator.window.async_observe(heating)
    freezer.tick(timedelta(minutes=6))
    coordinator.window.async_observe(heating)
    assert coordinator.window.pause is None
    freezer.tick(timedelta(seconds=30))
    colder = replace(
        heating,
        sensors=replace(heating.sensors, temperature=state.sensors.temperature - 1.5),
    )
    coordinator.window.async_observe(colder)
    await hass.async_block_till_done()
    # Still watched: a sharp drop after the steady spell is an open window.
    await wait_for(hass, lambda: coordinator.window.pause is not None)
