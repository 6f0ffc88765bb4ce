"""The heating power limit: a number that caps what the Q.rad draws, cloud or not."""

from __future__ import annotations

import asyncio

from homeassistant.components.climate import (
    DOMAIN as CLIMATE_DOMAIN,
    SERVICE_SET_TEMPERATURE,
)
from homeassistant.components.number import (
    ATTR_MAX,
    ATTR_MIN,
    ATTR_STEP,
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_TEMPERATURE,
    ATTR_UNIT_OF_MEASUREMENT,
    EntityCategory,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qrad.const import DOMAIN
from custom_components.qrad.diagnostics import async_get_config_entry_diagnostics
from simulator.device.server import UnitServer
from simulator.testing import CloudWorld

from .test_cloud import climate_entity, pair_with_account
from .waiting import wait_for

LIMIT = "number.living_room_heating_power_limit"
CLIMATE = "climate.living_room"


async def set_limit(hass: HomeAssistant, entity_id: str, watts: float) -> None:
    """Move the power limit slider."""
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: watts},
        blocking=True,
    )


async def set_target(hass: HomeAssistant, entity_id: str, target: float) -> None:
    """Set the thermostat's target."""
    await hass.services.async_call(
        CLIMATE_DOMAIN,
        SERVICE_SET_TEMPERATURE,
        {ATTR_ENTITY_ID: entity_id, ATTR_TEMPERATURE: target},
        blocking=True,
    )


async def test_the_limit_is_a_setting_written_to_the_qrad(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """0-500 W by 10, a configuration entity, on the Q.rad and in diagnostics."""
    entry = er.async_get(hass).async_get(LIMIT)
    assert entry is not None
    assert entry.entity_category is EntityCategory.CONFIG
    state = hass.states.get(LIMIT)
    assert state is not None
    assert float(state.state) == 500.0
    assert state.attributes[ATTR_MIN] == 0
    assert state.attributes[ATTR_MAX] == 500
    assert state.attributes[ATTR_STEP] == 10
    assert state.attributes[ATTR_UNIT_OF_MEASUREMENT] == "W"

    await set_limit(hass, LIMIT, 120)
    assert qrad_unit.unit.power_limit_w == 120.0
    assert float(hass.states.get(LIMIT).state) == 120.0
    assert qrad_unit.requests["PATCH /api/v1/power"] == 1
    diagnostics = await async_get_config_entry_diagnostics(hass, init_integration)
    assert diagnostics["settings"]["power_limit_w"] == 120.0
    assert diagnostics["state"]["power"]["power_limit_w"] == 120.0


async def test_the_local_thermostat_honours_the_limit(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """Without the cloud, the Q.rad's own thermostat never draws more than the cap."""
    await set_limit(hass, LIMIT, 150)
    await set_target(hass, CLIMATE, 30.0)
    assert qrad_unit.unit.control == "local"
    await wait_for(hass, lambda: qrad_unit.unit.power_w > 0)
    for _ in range(4):  # a few ticks of the emulated unit
        assert qrad_unit.unit.power_w <= 150.0
        await asyncio.sleep(0.5)
    await wait_for(hass, lambda: qrad_unit.unit.power_w == 150.0)


async def test_the_cloud_is_told_and_caps_its_allocation(
    hass: HomeAssistant, cloud_world: CloudWorld
) -> None:
    """The setpoint carries the limit; the controller allocates no more than it."""
    unit = cloud_world.fleet.units[0]
    await pair_with_account(hass, cloud_world, unit)
    serial = unit.unit.identity.serial
    limit = er.async_get(hass).async_get_entity_id(
        NUMBER_DOMAIN, DOMAIN, f"{serial}_power_limit"
    )
    assert limit is not None
    ledger = cloud_world.controller.scheduler.ledgers[serial]

    await set_limit(hass, limit, 200)
    await set_target(hass, climate_entity(hass, unit), 30.0)
    await wait_for(
        hass,
        lambda: (
            ledger.setpoint is not None
            and ledger.setpoint.power_limit_w == 200.0
            and ledger.setpoint.target_temperature == 30.0
        ),
    )
    await wait_for(hass, lambda: ledger.power_target_w == 200.0)
    assert ledger.heat_source == "power_limited"
    await wait_for(hass, lambda: unit.unit.control == "cloud")
    await wait_for(hass, lambda: unit.unit.power_w == 200.0)
    source = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{serial}_heat_source"
    )
    assert source is not None
    await wait_for(hass, lambda: hass.states.get(source).state == "power_limited")

    await set_limit(hass, limit, 500)
    await wait_for(hass, lambda: ledger.power_target_w > 200.0)
