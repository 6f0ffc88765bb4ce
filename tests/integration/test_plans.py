"""The homeowner's plan in Home Assistant: `qrad.set_plan`, and the cloud heating ahead.

A real Q.rad emulator, mosquitto and the controller: the action's changes
arrive at the controller as a plan (docs/protocol.md 6.11), the thermostat
shows the next one, and while the predictive controller heats ahead of it the
thermostat's action is `preheating`. Bad plans are refused with a message.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from homeassistant.components.climate import ATTR_HVAC_ACTION, HVACAction
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest

from custom_components.qrad.const import DOMAIN
from custom_components.qrad.schedule_plan import WEEKDAYS
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
    comfort = unit.unit.thermostat.preset_temperatures["comfort"]
    # The emulated controller keeps plans on its own (60x) clock.
    wall = cloud_world.controller.clock.real
    assert [(wall(c.at), c.target_temperature) for c in ledger.plan.changes] == [
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
    # Warmer than the room can reach by then (two emulated hours at 60x):
    # the controller heats at once.
    soon = (dt_util.now() + timedelta(minutes=2)).replace(microsecond=0)
    await _set_plan(hass, entity_id, [{"at": soon.isoformat(), "temperature": 29}])

    def action() -> str | None:
        state = hass.states.get(entity_id)
        return None if state is None else state.attributes.get(ATTR_HVAC_ACTION)

    before = dt_util.utcnow()
    await wait_for(hass, lambda: action() == HVACAction.PREHEATING, limit=60)
    state = hass.states.get(entity_id)
    assert state is not None
    # The owner reads since when the cloud heats for the planned change.
    assert state.attributes["next_planned_change"] == dt_util.as_utc(soon).isoformat()
    since = datetime.fromisoformat(state.attributes["heating_ahead_since"])
    assert before <= since <= dt_util.utcnow()


def _every_day(start: str | None, end: str | None) -> list[dict[str, str]]:
    """One period a day, or none."""
    return [] if start is None or end is None else [{"from": start, "to": end}]


async def _schedule(
    hass: HomeAssistant, ws: object, start: str | None, end: str | None
) -> str:
    """A schedule helper on every day from `start` to `end`, as its UI makes one."""
    client = await ws(hass)  # type: ignore[operator]
    periods = _every_day(start, end)
    await client.send_json_auto_id(
        {"type": "schedule/create", "name": "Mornings"}
        | dict.fromkeys(WEEKDAYS, periods)
    )
    answer = await client.receive_json()
    assert answer["success"], answer
    await hass.async_block_till_done()
    return str(answer["result"]["id"])


async def _update_schedule(
    hass: HomeAssistant,
    ws: object,
    schedule_id: str,
    start: str | None,
    end: str | None,
) -> None:
    client = await ws(hass)  # type: ignore[operator]
    periods = _every_day(start, end)
    await client.send_json_auto_id(
        {"type": "schedule/update", "schedule_id": schedule_id, "name": "Mornings"}
        | dict.fromkeys(WEEKDAYS, periods)
    )
    answer = await client.receive_json()
    assert answer["success"], answer
    await hass.async_block_till_done()


def _tomorrow_at(hour: int) -> object:
    local = dt_util.now() + timedelta(days=1)
    return dt_util.as_utc(local.replace(hour=hour, minute=0, second=0, microsecond=0))


# The schedule helper's own timer (its next period) outlives the test.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_a_schedule_chosen_in_the_options_becomes_the_plan(
    hass: HomeAssistant, cloud_world: CloudWorld, hass_ws_client: object
) -> None:
    """Its periods map to comfort and eco; an edited schedule is sent again."""
    from homeassistant.setup import async_setup_component  # noqa: PLC0415

    unit = cloud_world.fleet.units[0]
    # Paired first: its platforms set up before the websocket client starts HTTP.
    entry = await pair_with_account(hass, cloud_world, unit)
    assert await async_setup_component(hass, "schedule", {})
    schedule_id = await _schedule(hass, hass_ws_client, "07:00:00", "09:00:00")
    flow = await hass.config_entries.options.async_init(entry.entry_id)
    flow = await hass.config_entries.options.async_configure(
        flow["flow_id"], {"next_step_id": "schedule"}
    )
    assert flow["step_id"] == "schedule"
    await hass.config_entries.options.async_configure(
        flow["flow_id"],
        {
            "schedule": "schedule.mornings",
            "schedule_on_preset": "comfort",
            "schedule_off_preset": "eco",
        },
    )
    await hass.async_block_till_done()
    presets = unit.unit.thermostat.preset_temperatures
    ledger = cloud_world.controller.scheduler.ledgers[unit.unit.identity.serial]

    wall = cloud_world.controller.clock.real

    def planned() -> list[tuple[object, float]]:
        plan = ledger.plan
        return (
            []
            if plan is None
            else [(wall(c.at), c.target_temperature) for c in plan.changes]
        )

    await wait_for(hass, lambda: (_tomorrow_at(7), presets["comfort"]) in planned())
    assert (_tomorrow_at(9), presets["eco"]) in planned()
    first = ledger.plan
    assert first is not None
    assert first.source == "schedule"

    await _update_schedule(hass, hass_ws_client, schedule_id, "06:00:00", "08:00:00")
    await wait_for(hass, lambda: (_tomorrow_at(6), presets["comfort"]) in planned())
    assert ledger.plan is not None
    assert ledger.plan.seq > first.seq


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_the_qrad_takes_the_presets_of_the_schedule(
    hass: HomeAssistant, cloud_world: CloudWorld, hass_ws_client: object
) -> None:
    """When the helper turns on the Q.rad takes the on preset, and off the other."""
    from homeassistant.setup import async_setup_component  # noqa: PLC0415

    unit = cloud_world.fleet.units[0]
    entry = await pair_with_account(hass, cloud_world, unit)
    assert await async_setup_component(hass, "schedule", {})
    # Off: no period at all yet.
    schedule_id = await _schedule(hass, hass_ws_client, None, None)
    flow = await hass.config_entries.options.async_init(entry.entry_id)
    flow = await hass.config_entries.options.async_configure(
        flow["flow_id"], {"next_step_id": "schedule"}
    )
    await hass.config_entries.options.async_configure(
        flow["flow_id"],
        {
            "schedule": "schedule.mornings",
            "schedule_on_preset": "away",
            "schedule_off_preset": "eco",
        },
    )
    await hass.async_block_till_done()
    assert unit.unit.thermostat.preset == "comfort"

    await _update_schedule(hass, hass_ws_client, schedule_id, "00:00:00", "24:00:00")
    await wait_for(hass, lambda: unit.unit.thermostat.preset == "away")
    await _update_schedule(hass, hass_ws_client, schedule_id, None, None)
    await wait_for(hass, lambda: unit.unit.thermostat.preset == "eco")


async def test_a_qrad_in_auto_sends_its_day_program_and_withdraws_it(
    hass: HomeAssistant, cloud_world: CloudWorld
) -> None:
    """In `auto`, the Q.rad's own program (comfort 06:00-22:00) is its plan."""
    unit = cloud_world.fleet.units[0]
    await pair_with_account(hass, cloud_world, unit)
    entity_id = climate_entity(hass, unit)
    ledger = cloud_world.controller.scheduler.ledgers[unit.unit.identity.serial]
    wall = cloud_world.controller.clock.real

    async def set_mode(mode: str) -> None:
        await hass.services.async_call(
            "climate",
            "set_hvac_mode",
            {"entity_id": entity_id, "hvac_mode": mode},
            blocking=True,
        )

    await set_mode("auto")
    await wait_for(hass, lambda: ledger.plan is not None and bool(ledger.plan.changes))
    plan = ledger.plan
    assert plan is not None
    assert plan.source == "device"
    presets = unit.unit.thermostat.preset_temperatures
    local = [
        (dt_util.as_local(wall(change.at)), change.target_temperature)
        for change in plan.changes
    ]
    assert len(local) >= 2
    for moment, target in local:
        assert (moment.hour, moment.minute) in {(6, 0), (22, 0)}
        assert target == presets["comfort" if moment.hour == 6 else "eco"]

    await set_mode("heat")
    await wait_for(hass, lambda: ledger.plan is not None and not ledger.plan.changes)
    assert ledger.plan is not None
    assert ledger.plan.seq > plan.seq
