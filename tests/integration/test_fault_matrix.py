"""The fault matrix: each fault a Q.rad can show, what the user sees, nothing lost.

For every fault the emulated Q.rad can inject (protocol section 7), Home
Assistant must keep (or get back) an available thermostat without a reload,
follow a change made on the unit afterwards, and apply the user's next setpoint
on the unit: no setpoint lost, none applied out of order.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import aiohttp
from homeassistant.components.climate import (
    DOMAIN as CLIMATE_DOMAIN,
    SERVICE_SET_TEMPERATURE,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, ATTR_TEMPERATURE, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qrad.api import device as device_api
from simulator.device.server import UnitServer

from .waiting import wait_for

CLIMATE = "climate.living_room"


async def inject(unit: UnitServer, fault: dict[str, Any]) -> None:
    """A fault through the emulator's control endpoint, as the tests' hands."""
    url = f"http://{unit.host}:{unit.port}/_emulator/faults"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=fault) as answer,
    ):
        assert answer.status == 200


@pytest.mark.parametrize(
    "fault",
    [
        {"fault": "drop_websocket"},
        {"fault": "reboot"},
        {"fault": "slow", "delay_s": 0.5},
        {"fault": "refuse_connections", "seconds": 1},
        {"fault": "malformed_payloads", "count": 2},
        {"fault": "out_of_range_payloads", "count": 2},
    ],
    ids=lambda fault: fault["fault"],
)
async def test_after_each_fault_the_thermostat_follows_and_obeys(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    qrad_unit: UnitServer,
    fault: dict[str, Any],
) -> None:
    """Available again, changes on the unit shown, the next setpoint applied."""
    coordinator = init_integration.runtime_data
    await wait_for(hass, lambda: coordinator.push_connected)
    await inject(qrad_unit, fault)
    if fault["fault"] == "refuse_connections":
        await qrad_unit.drop_streams()
    qrad_unit.unit.thermostat.target = 23.0
    await qrad_unit.publish()
    await wait_for(
        hass,
        lambda: (
            hass.states.get(CLIMATE).state != STATE_UNAVAILABLE
            and hass.states.get(CLIMATE).attributes[ATTR_TEMPERATURE] == 23.0
        ),
        limit=40,
    )
    for target in (18.5, 19.0, 21.5):
        await hass.services.async_call(
            CLIMATE_DOMAIN,
            SERVICE_SET_TEMPERATURE,
            {ATTR_ENTITY_ID: CLIMATE, ATTR_TEMPERATURE: target},
            blocking=True,
        )
    assert qrad_unit.unit.thermostat.target == 21.5
    await wait_for(
        hass, lambda: hass.states.get(CLIMATE).attributes[ATTR_TEMPERATURE] == 21.5
    )
    assert init_integration.state is ConfigEntryState.LOADED
    await inject(qrad_unit, {"fault": "clear"})


@pytest.mark.parametrize("why", ["refusing", "busy"])
async def test_an_unreachable_qrad_is_logged_once_at_info_and_so_is_its_return(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    qrad_unit: UnitServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    why: str,
) -> None:
    """A Q.rad off the network or busy is no error: one line when it goes, one back."""
    coordinator = init_integration.runtime_data
    await wait_for(hass, lambda: coordinator.push_connected)
    caplog.set_level(logging.INFO, logger="custom_components.qrad")
    if why == "refusing":
        await inject(qrad_unit, {"fault": "refuse_connections", "seconds": 3})
    else:
        # The client's own waits between its tries, shortened: it gives up busy.
        monkeypatch.setattr(device_api, "MAX_RETRY_AFTER_S", 0.05)
        qrad_unit.busy_until = time.monotonic() + 3
    await qrad_unit.drop_streams()
    await wait_for(hass, lambda: hass.states.get(CLIMATE).state == STATE_UNAVAILABLE)
    await wait_for(
        hass, lambda: hass.states.get(CLIMATE).state != STATE_UNAVAILABLE, limit=40
    )
    ours = [
        record
        for record in caplog.records
        if record.name.startswith("custom_components.qrad")
    ]
    assert [r.levelno for r in ours if r.levelno >= logging.WARNING] == []
    messages = [r.getMessage() for r in ours if r.levelno == logging.INFO]
    assert sum("Living room is unreachable" in m for m in messages) == 1
    assert sum("reachable again" in m or "recovered" in m for m in messages) == 1
