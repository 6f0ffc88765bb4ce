"""Energy dashboard ready: the energy and money sensors pass the recorder's checks.

With the recorder running, statistics are compiled from the sensors' recorded
states; `recorder/validate_statistics` (what Developer tools > Statistics
shows) then finds nothing wrong with them, and `energy/validate` (what the
energy dashboard shows) accepts the Q.rad's energy as a device's consumption.
"""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
    get_start_time,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.qrad.const import DOMAIN
from simulator.testing import CloudWorld

from .test_cloud import climate_entity, pair_with_account
from .waiting import wait_for


@pytest.fixture(autouse=True)
def _custom_integrations(
    recorder_db_url: str, enable_custom_integrations: None
) -> None:
    """Prepare the recorder's database first (before Home Assistant starts)."""


def number(hass: HomeAssistant, entity_id: str) -> float | None:
    """The sensor's value, if it has one."""
    state = hass.states.get(entity_id)
    try:
        return float(state.state) if state is not None else None
    except ValueError:
        return None


async def ask(client: Any, **message: Any) -> Any:
    """Send a WebSocket command and return its result."""
    await client.send_json_auto_id(message)
    answer = await client.receive_json()
    assert answer["success"], answer
    return answer["result"]


async def test_energy_and_money_pass_statistics_validation(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    cloud_world: CloudWorld,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Energy in kWh and money in EUR: compiled, and no validation issue."""
    assert await async_setup_component(hass, "energy", {})
    unit = cloud_world.fleet.units[0]
    await pair_with_account(hass, cloud_world, unit)
    serial = unit.unit.identity.serial
    registry = er.async_get(hass)
    energy = registry.async_get_entity_id("sensor", DOMAIN, f"{serial}_energy")
    money = registry.async_get_entity_id("sensor", DOMAIN, f"{serial}_reimbursed")
    assert energy is not None
    assert money is not None
    # Heat, so that both grow while they are recorded.
    await hass.services.async_call(
        "climate",
        "set_temperature",
        {"entity_id": climate_entity(hass, unit), "temperature": 28.0},
        blocking=True,
    )
    await wait_for(hass, lambda: number(hass, money) is not None)
    first_energy, first_money = number(hass, energy), number(hass, money)
    assert first_energy is not None
    assert first_money is not None
    await wait_for(
        hass,
        lambda: (
            (number(hass, energy) or 0) > first_energy
            and (number(hass, money) or 0) > first_money
        ),
        limit=30,
    )
    await async_wait_recording_done(hass)
    caplog.clear()
    period = get_start_time(dt_util.utcnow())
    do_adhoc_statistics(hass, start=period)
    await async_wait_recording_done(hass)

    client = await hass_ws_client(hass)
    sums = await ask(client, type="recorder/list_statistic_ids", statistic_type="sum")
    by_id = {item["statistic_id"]: item for item in sums}
    assert by_id[energy]["statistics_unit_of_measurement"] == "kWh"
    assert by_id[money]["statistics_unit_of_measurement"] == "EUR"
    compiled = await ask(
        client,
        type="recorder/statistics_during_period",
        start_time=period.isoformat(),
        statistic_ids=[energy, money],
        period="5minute",
        types=["state", "sum"],
    )
    assert compiled[energy][0]["state"] >= first_energy
    assert compiled[money][0]["state"] >= first_money

    issues = await ask(client, type="recorder/validate_statistics")
    ours = {
        entity.entity_id
        for entity in er.async_entries_for_config_entry(
            registry, registry.async_get(energy).config_entry_id
        )
    }
    assert {key: value for key, value in issues.items() if key in ours} == {}
    # Compiling them warned about nothing (a decreasing total, a unit, a class).
    for record in caplog.records:
        if record.levelno >= logging.WARNING:
            assert energy not in record.getMessage()
            assert money not in record.getMessage()

    # The energy dashboard takes the Q.rad as a device that consumes.
    await ask(
        client,
        type="energy/save_prefs",
        device_consumption=[{"stat_consumption": energy}],
    )
    validation = await ask(client, type="energy/validate")
    assert validation["device_consumption"] == [[]]
