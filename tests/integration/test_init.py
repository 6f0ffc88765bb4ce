"""Setting a Q.rad up, using it, losing it and getting it back."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
from homeassistant.components.climate import (
    ATTR_HVAC_ACTION,
    ATTR_PRESET_MODE,
    DOMAIN as CLIMATE_DOMAIN,
    SERVICE_SET_PRESET_MODE,
    SERVICE_SET_TEMPERATURE,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_TEMPERATURE,
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    STATE_UNAVAILABLE,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.qrad.api import device as device_api
from custom_components.qrad.const import DOMAIN, FALLBACK_SCAN_INTERVAL
from simulator.device import unit as unit_module
from simulator.device.server import UnitServer

from .waiting import wait_for

CLIMATE = "climate.living_room"


async def test_setup_and_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """The Q.rad appears as a device with a thermostat, and unloads cleanly."""
    assert init_integration.state is ConfigEntryState.LOADED
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, qrad_unit.unit.identity.serial), init_integration.entry_id
    )
    assert device is not None
    assert device.model == "Q.rad 3"
    assert device.sw_version == "3.4.1"
    # The device page's "Visit" link opens the unit's own page.
    assert device.configuration_url is not None
    async with (
        aiohttp.ClientSession() as http,
        http.get(device.configuration_url) as page,
    ):
        assert page.content_type == "text/html"
        assert "<h1>Living room</h1>" in await page.text()
    state = hass.states.get(CLIMATE)
    assert state is not None
    assert state.attributes[ATTR_TEMPERATURE] == qrad_unit.unit.thermostat.target
    assert state.attributes[ATTR_HVAC_ACTION] in ("heating", "idle")
    temperature = hass.states.get("sensor.living_room_temperature")
    assert temperature is not None
    assert abs(float(temperature.state) - qrad_unit.unit.room.temperature) < 1.0

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.NOT_LOADED


async def test_a_booting_qrad_is_tried_again_later_and_says_it_is_busy(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    qrad_unit: UnitServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Busy (503) at start: not an error, a retry, and the reason is readable."""
    # The client's own waits between its tries, shortened for the test.
    monkeypatch.setattr(device_api, "MAX_RETRY_AFTER_S", 0.05)
    qrad_unit.busy_until = time.monotonic() + 60
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert mock_config_entry.reason == "Living room is busy; try again in a moment"


async def test_a_mode_of_a_newer_firmware_shows_as_unknown_and_nothing_else_stops(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A mode the integration does not know: the thermostat says unknown, not gone."""
    coordinator = init_integration.runtime_data
    await wait_for(hass, lambda: coordinator.push_connected)
    qrad_unit.unit.thermostat.hvac_mode = "dehumidify"
    qrad_unit.unit.thermostat.target = 22.5
    await qrad_unit.publish()
    await wait_for(hass, lambda: hass.states.get(CLIMATE).state == "unknown")
    state = hass.states.get(CLIMATE)
    assert state.attributes[ATTR_TEMPERATURE] == 22.5
    qrad_unit.unit.thermostat.hvac_mode = "heat"
    await qrad_unit.publish()
    await wait_for(hass, lambda: hass.states.get(CLIMATE).state == "heat")


async def test_setpoint_reaches_the_qrad(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A temperature or preset set from Home Assistant is what the Q.rad holds."""
    await hass.services.async_call(
        CLIMATE_DOMAIN,
        SERVICE_SET_TEMPERATURE,
        {ATTR_ENTITY_ID: CLIMATE, ATTR_TEMPERATURE: 22.5},
        blocking=True,
    )
    assert qrad_unit.unit.thermostat.target == 22.5
    assert hass.states.get(CLIMATE).attributes[ATTR_PRESET_MODE] == "none"
    await hass.services.async_call(
        CLIMATE_DOMAIN,
        SERVICE_SET_PRESET_MODE,
        {ATTR_ENTITY_ID: CLIMATE, ATTR_PRESET_MODE: "eco"},
        blocking=True,
    )
    assert qrad_unit.unit.thermostat.target == 17.5
    assert hass.states.get(CLIMATE).attributes[ATTR_TEMPERATURE] == 17.5


async def test_changes_on_the_qrad_are_pushed(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A change made on the unit itself shows up without polling."""
    await wait_for(hass, lambda: init_integration.runtime_data.push_connected)
    qrad_unit.unit.thermostat.target = 24.0
    await qrad_unit.publish()
    await wait_for(
        hass, lambda: hass.states.get(CLIMATE).attributes[ATTR_TEMPERATURE] == 24.0
    )


async def test_only_what_changed_is_written(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A Q.rad pushes every second: Home Assistant is never asked for a state it has.

    Each needless write costs Home Assistant a state computation; with hundreds
    of Q.rads those were most of its CPU (README, Performance).
    """
    await wait_for(hass, lambda: init_integration.runtime_data.push_connected)
    ours = {
        entry.entity_id
        for entry in er.async_entries_for_config_entry(
            er.async_get(hass), init_integration.entry_id
        )
    }
    rewritten: list[str] = []
    changed: set[str] = set()

    @callback
    def is_ours(data: dict[str, Any]) -> bool:
        return data["entity_id"] in ours

    @callback
    def on_reported(event: Event) -> None:
        rewritten.append(event.data["entity_id"])

    @callback
    def on_changed(event: Event) -> None:
        changed.add(event.data["entity_id"])

    hass.bus.async_listen(EVENT_STATE_REPORTED, on_reported, is_ours)
    hass.bus.async_listen(EVENT_STATE_CHANGED, on_changed, is_ours)
    qrad_unit.unit.thermostat.target = 24.0
    await qrad_unit.publish()
    # A few of the unit's own ticks (60x): meters, power, compute move.
    await wait_for(hass, lambda: "sensor.living_room_energy" in changed)
    await wait_for(hass, lambda: CLIMATE in changed)
    assert rewritten == []


async def test_unavailable_while_gone_and_back_without_reload(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """Entities go unavailable when the Q.rad vanishes and return when it is back."""
    await wait_for(hass, lambda: init_integration.runtime_data.push_connected)
    await qrad_unit.stop()
    await wait_for(hass, lambda: hass.states.get(CLIMATE).state == STATE_UNAVAILABLE)
    await qrad_unit.start()
    await wait_for(
        hass, lambda: hass.states.get(CLIMATE).state != STATE_UNAVAILABLE, limit=20
    )
    assert init_integration.state is ConfigEntryState.LOADED


async def test_nothing_polls_while_the_push_is_up_and_polls_while_it_is_down(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """Section 8: the fallback poll runs only while the event stream is down."""
    coordinator = init_integration.runtime_data
    await wait_for(hass, lambda: coordinator.push_connected)
    reads = qrad_unit.requests["GET /api/v1/state"]
    for _ in range(3):
        async_fire_time_changed(hass, dt_util.utcnow() + FALLBACK_SCAN_INTERVAL * 2)
        await hass.async_block_till_done()
    assert qrad_unit.requests["GET /api/v1/state"] == reads
    await qrad_unit.drop_streams()
    await wait_for(hass, lambda: qrad_unit.requests["GET /api/v1/state"] > reads)


async def test_an_unsupported_firmware_is_said_and_not_retried(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    qrad_unit: UnitServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Section 1.1: a set-up Q.rad that now speaks API 2 fails with the reason."""
    monkeypatch.setattr(unit_module, "API_VERSION", 2)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert mock_config_entry.reason is not None
    assert mock_config_entry.reason.startswith(
        "This Q.rad speaks a protocol version the integration does not support"
    )


async def test_revoked_token_asks_to_pair_again(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A token the Q.rad no longer knows starts reauthentication."""
    await qrad_unit.revoke_tokens()
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
