"""The homeowner's plan in Home Assistant: `qrad.set_plan`, and the cloud heating ahead.

A real Q.rad emulator, mosquitto and the controller: the action's changes
arrive at the controller as a plan (docs/protocol.md 6.11), the thermostat
shows the next one, and while the predictive controller heats ahead of it the
thermostat's action is `preheating`. Bad plans are refused with a message.
"""

from __future__ import annotations

from datetime import timedelta

from homeassistant.components.climate import ATTR_HVAC_ACTION, HVACAction
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest

from custom_components.qrad.const import DOMAIN
from simulator.cloud.controller import Controller
from simulator.testing import CloudWorld

from .test_cloud import climate_entity, pair_with_account
from .waiting import wait_for

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def _set_plan(hass: HomeAssistant, entity_id: str, changes: list[dict]) -> None:
    await hass.services.async_call(
        DOMAIN,
        "set_plan",
        {"entity_id": entity_id, "changes": changes},
        blocking=True,
    )


async def test_set_plan_reaches_the_cloud_and_the_thermostat_shows_it(
    hass: HomeAssistant, cloud_world: CloudWorld
) -> None:
    """A preset and a temperature, in local time: both reach the controller."""
    unit = cloud_world.fleet.units[0]
    await pair_with_account(hass, cloud_world, unit)
    entity_id = climate_entity(hass, unit)
    comfort_at = dt_util.now().replace(microsecond=0) + timedelta(hours=3)
    setback_at = comfort_at + timedelta(hours=4)
    await _set_plan(
        hass,
        entity_id,
        [
            {"at": comfort_at.replace(tzinfo=None).isoformat(), "preset": "comfort"},
            {"at": setback_at.isoformat(), "temperature": 16.5},
        ],
    )
    ledger = cloud_world.controller.scheduler.ledgers[unit.unit.identity.serial]
    await wait_for(hass, lambda: ledger.plan is not None)
    assert ledger.plan is not None
    comfort = unit.unit.preset_temperatures["comfort"]
    assert [(c.at, c.target_temperature) for c in ledger.plan.changes] == [
        (comfort_at, comfort),
        (setback_at, 16.5),
    ]
    state = hass.states.get(entity_id)
    assert state is not None
    assert "next_planned_change" in state.attributes, state
    assert (
        state.attributes["next_planned_change"]
        == dt_util.as_utc(comfort_at).isoformat()
    )
    assert state.attributes["next_planned_temperature"] == comfort


async def test_a_bad_plan_is_refused_with_a_message(
    hass: HomeAssistant, cloud_world: CloudWorld
) -> None:
    """Out of order: a clear error, and nothing reaches the controller."""
    unit = cloud_world.fleet.units[0]
    await pair_with_account(hass, cloud_world, unit)
    entity_id = climate_entity(hass, unit)
    later = dt_util.now() + timedelta(hours=2)
    with pytest.raises(ServiceValidationError) as refused:
        await _set_plan(
            hass,
            entity_id,
            [
                {"at": later.isoformat(), "temperature": 21},
                {"at": (later - timedelta(hours=1)).isoformat(), "temperature": 17},
            ],
        )
    assert refused.value.translation_key == "invalid_plan"
    assert "time order" in str(refused.value.translation_placeholders)
    ledger = cloud_world.controller.scheduler.ledgers[unit.unit.identity.serial]
    assert ledger.plan is None


async def test_the_thermostat_says_preheating_while_the_cloud_heats_ahead(
    hass: HomeAssistant, cloud_world: CloudWorld
) -> None:
    """The predictive controller starts ahead of a high planned target: `preheating`."""
    await cloud_world.controller.stop()
    cloud_world.controller = Controller(
        cloud_world.directory,
        cloud_world.endpoint,
        cloud_world.fleet.clock,
        policy="predictive",
    )
    await cloud_world.controller.start()
    unit = cloud_world.fleet.units[0]
    await pair_with_account(hass, cloud_world, unit)
    entity_id = climate_entity(hass, unit)
    # Warmer than the room can reach by then: the controller heats at once.
    soon = dt_util.now() + timedelta(hours=3)
    await _set_plan(hass, entity_id, [{"at": soon.isoformat(), "temperature": 29}])

    def action() -> str | None:
        state = hass.states.get(entity_id)
        return None if state is None else state.attributes.get(ATTR_HVAC_ACTION)

    await wait_for(hass, lambda: action() == HVACAction.PREHEATING, limit=60)
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes["heating_ahead"] is True
