"""Setpoint writes that are neither lost nor rate-limited into a loop.

A slider drag sends a setpoint many times a second; an automation storm may
send them all at once. The Q.rad and the cloud must end at the last value,
promptly and in order, with far fewer writes than requests; a 429 or a busy
Q.rad is waited for, never taken for a refused token.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from homeassistant.components.climate import (
    DOMAIN as CLIMATE_DOMAIN,
    SERVICE_SET_TEMPERATURE,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, ATTR_TEMPERATURE, CONF_TOKEN
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qrad import account
from simulator.device.server import UnitServer
from simulator.testing import CloudWorld

from .test_cloud import climate_entity, pair_with_account
from .waiting import wait_for

CLIMATE = "climate.living_room"
THERMOSTAT = "PATCH /api/v1/thermostat"
# A drag from 5.0 to 29.5 °C: fifty values.
DRAG = [5.0 + 0.5 * step for step in range(50)]


async def drag(hass: HomeAssistant, entity_id: str, seconds: float) -> None:
    """Set the fifty values within `seconds`, each call running concurrently."""

    async def set_to(index: int, value: float) -> None:
        await asyncio.sleep(seconds * index / len(DRAG))
        await hass.services.async_call(
            CLIMATE_DOMAIN,
            SERVICE_SET_TEMPERATURE,
            {ATTR_ENTITY_ID: entity_id, ATTR_TEMPERATURE: value},
            blocking=True,
        )

    await asyncio.gather(*(set_to(index, value) for index, value in enumerate(DRAG)))


def written_targets(unit: UnitServer, since: int = 0) -> list[float]:
    """The targets the Q.rad applied, in order (its write log)."""
    return [
        write["body"]["target_temperature"]
        for write in list(unit.write_log)[since:]
        if write["path"].endswith("/thermostat")
        and "target_temperature" in write["body"]
    ]


async def test_a_drag_reaches_the_qrad_and_the_cloud_at_its_last_value(
    hass: HomeAssistant, cloud_world: CloudWorld
) -> None:
    """Fifty values in one second: every call succeeds, the last one wins everywhere."""
    unit = cloud_world.fleet.units[0]
    await pair_with_account(hass, cloud_world, unit)
    entity_id = climate_entity(hass, unit)
    hub = account.async_get_hub(hass, cloud_world.account_of(unit)[0])
    await wait_for(hass, lambda: hub.connected)
    ledger = cloud_world.controller.scheduler.ledgers[unit.unit.identity.serial]
    writes_before = unit.requests[THERMOSTAT]
    log_before = len(unit.write_log)

    await drag(hass, entity_id, seconds=1.0)

    assert unit.unit.thermostat.target == DRAG[-1]
    assert hass.states.get(entity_id).attributes[ATTR_TEMPERATURE] == DRAG[-1]
    targets = written_targets(unit, log_before)
    assert targets[-1] == DRAG[-1]
    assert targets == sorted(targets), "the Q.rad saw the values out of order"
    writes = unit.requests[THERMOSTAT] - writes_before
    # About one write per MIN_WRITE_INTERVAL_S (0.2 s) of the drag, the last included.
    assert writes <= 10, (writes, targets)
    await wait_for(
        hass,
        lambda: (
            ledger.setpoint is not None and ledger.setpoint.target_temperature == 29.5
        ),
        limit=10,
    )
    assert (
        not hub.outbox.pending
        or hub.outbox.pending[unit.unit.identity.serial].target_temperature == DRAG[-1]
    )
    assert not hass.config_entries.flow.async_progress()


async def test_a_slow_qrad_gets_few_writes(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """While one write is in flight, later values replace the pending one."""
    qrad_unit.delay_s = 0.25
    writes_before = qrad_unit.requests[THERMOSTAT]
    log_before = len(qrad_unit.write_log)
    await drag(hass, CLIMATE, seconds=1.0)
    qrad_unit.delay_s = 0.0
    writes = qrad_unit.requests[THERMOSTAT] - writes_before
    # About one write per 0.25 s answer, plus the first and the last.
    assert writes <= 8, writes
    targets = written_targets(qrad_unit, log_before)
    assert targets[-1] == DRAG[-1]
    assert targets == sorted(targets)
    assert qrad_unit.unit.thermostat.target == DRAG[-1]
    assert hass.states.get(CLIMATE).attributes[ATTR_TEMPERATURE] == DRAG[-1]


def exhaust_rate_limit(unit: UnitServer, token: str) -> None:
    """Spend the token's whole burst, as other clients with it might have."""
    bucket = unit._buckets[token]
    bucket.level = 0.0
    bucket.updated = time.monotonic()


async def test_rate_limited_and_busy_writes_are_retried_not_reauthenticated(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A 429 or a 503 waits for Retry-After and then writes; nobody is asked to pair."""
    await wait_for(hass, lambda: init_integration.runtime_data.push_connected)
    limited_before = qrad_unit.requests[THERMOSTAT]
    exhaust_rate_limit(qrad_unit, init_integration.data[CONF_TOKEN])
    await hass.services.async_call(
        CLIMATE_DOMAIN,
        SERVICE_SET_TEMPERATURE,
        {ATTR_ENTITY_ID: CLIMATE, ATTR_TEMPERATURE: 23.5},
        blocking=True,
    )
    assert qrad_unit.unit.thermostat.target == 23.5
    # Refused at least once (429), then written.
    assert qrad_unit.requests[THERMOSTAT] - limited_before >= 2

    await qrad_unit.reboot()
    await hass.services.async_call(
        CLIMATE_DOMAIN,
        SERVICE_SET_TEMPERATURE,
        {ATTR_ENTITY_ID: CLIMATE, ATTR_TEMPERATURE: 19.0},
        blocking=True,
    )
    assert qrad_unit.unit.thermostat.target == 19.0
    assert init_integration.state is ConfigEntryState.LOADED
    assert not hass.config_entries.flow.async_progress()


async def test_a_write_that_cannot_be_made_fails_its_callers_only(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A value the Q.rad refuses fails its call; the next write still goes through."""
    failures: list[Any] = []
    try:
        await hass.services.async_call(
            CLIMATE_DOMAIN,
            SERVICE_SET_TEMPERATURE,
            {ATTR_ENTITY_ID: CLIMATE, ATTR_TEMPERATURE: 21.3},
            blocking=True,
        )
    except Exception as err:  # noqa: BLE001 - the test looks at what came out
        failures.append(err)
    assert [type(err).__name__ for err in failures] == ["ServiceValidationError"]
    await hass.services.async_call(
        CLIMATE_DOMAIN,
        SERVICE_SET_TEMPERATURE,
        {ATTR_ENTITY_ID: CLIMATE, ATTR_TEMPERATURE: 21.5},
        blocking=True,
    )
    assert qrad_unit.unit.thermostat.target == 21.5
