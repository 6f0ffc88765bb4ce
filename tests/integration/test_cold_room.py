"""Why the room is cold: a repair issue in plain words while it stays so."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from homeassistant.components.climate import (
    ATTR_HVAC_ACTION,
    DOMAIN as CLIMATE_DOMAIN,
    SERVICE_SET_HVAC_MODE,
    SERVICE_SET_TEMPERATURE,
    HVACMode,
)
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN, SERVICE_SET_VALUE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qrad import cold_room
from custom_components.qrad.api import QradState
from custom_components.qrad.api.cloud_models import ComputeStatus, HeatSource
from custom_components.qrad.cold_room import ColdReason, cold_reason
from custom_components.qrad.const import DOMAIN
from simulator.device.server import UnitServer

from .waiting import wait_for

CLIMATE = "climate.living_room"
LIMIT = "number.living_room_heating_power_limit"


@pytest.fixture(autouse=True)
def _short(monkeypatch: pytest.MonkeyPatch) -> None:
    """A room is "cold for long" after one second instead of thirty minutes."""
    monkeypatch.setattr(cold_room, "COLD_ROOM_DELAY_S", 1.0)


def issue(hass: HomeAssistant, unit: UnitServer) -> ir.IssueEntry | None:
    """The cold-room issue of the unit, if raised."""
    return ir.async_get(hass).async_get_issue(
        DOMAIN, f"cold_room_{unit.unit.identity.serial}"
    )


async def call(hass: HomeAssistant, domain: str, service: str, **data: Any) -> None:
    """Call an action and wait for it."""
    await hass.services.async_call(domain, service, data, blocking=True)


async def test_a_capped_room_raises_the_issue_and_recovery_clears_it(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """Capped at 0 W, far below its target: "power limited", then gone when warm."""
    await call(hass, NUMBER_DOMAIN, SERVICE_SET_VALUE, entity_id=LIMIT, value=0)
    target = min(round(qrad_unit.unit.room.temperature) + 3.0, 30.0)
    await call(
        hass,
        CLIMATE_DOMAIN,
        SERVICE_SET_TEMPERATURE,
        entity_id=CLIMATE,
        temperature=target,
    )
    # Not at once: only once the room has stayed cold for the delay.
    assert issue(hass, qrad_unit) is None
    await wait_for(hass, lambda: issue(hass, qrad_unit) is not None)
    raised = issue(hass, qrad_unit)
    assert raised is not None
    assert raised.translation_key == "cold_room_power_limited"
    assert raised.severity is ir.IssueSeverity.WARNING
    assert not raised.is_fixable
    placeholders = raised.translation_placeholders or {}
    assert placeholders["limit"] == "0"
    assert placeholders["target"] == f"{target:.1f}"
    assert placeholders["name"] == "Living room"
    # The thermostat says what it does, and its mode is the owner's.
    climate = hass.states.get(CLIMATE)
    assert climate is not None
    assert climate.state == HVACMode.HEAT
    assert climate.attributes[ATTR_HVAC_ACTION] == "idle"

    # The room reaches its target (here: a target it already has).
    await call(
        hass,
        CLIMATE_DOMAIN,
        SERVICE_SET_TEMPERATURE,
        entity_id=CLIMATE,
        temperature=5.0,
    )
    await wait_for(hass, lambda: issue(hass, qrad_unit) is None)


async def test_switching_heating_off_clears_the_issue(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A room nobody heats is not "cold" in this sense."""
    await call(hass, NUMBER_DOMAIN, SERVICE_SET_VALUE, entity_id=LIMIT, value=0)
    await call(
        hass,
        CLIMATE_DOMAIN,
        SERVICE_SET_TEMPERATURE,
        entity_id=CLIMATE,
        temperature=30.0,
    )
    await wait_for(hass, lambda: issue(hass, qrad_unit) is not None)
    await call(
        hass,
        CLIMATE_DOMAIN,
        SERVICE_SET_HVAC_MODE,
        entity_id=CLIMATE,
        hvac_mode=HVACMode.OFF,
    )
    await wait_for(hass, lambda: issue(hass, qrad_unit) is None)


def status(source: HeatSource) -> ComputeStatus:
    """A controller's status of the unit with this heat source."""
    return ComputeStatus(
        serial="QR3-000001",
        setpoint_seq=1,
        power_target_w=0.0,
        jobs_running=0,
        gflops=0.0,
        heat_share=0.0,
        heat_source=source,
        energy_kwh=0.0,
        reimbursed_eur=0.0,
        room_temperature=None,
        updated_at=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("power", "limit", "control", "source", "reason"),
    [
        (100.0, 100.0, "cloud", HeatSource.POWER_LIMITED, ColdReason.POWER_LIMITED),
        (100.0, 100.0, "local", None, ColdReason.POWER_LIMITED),
        (300.0, 500.0, "local", HeatSource.LOCAL_FALLBACK, ColdReason.LOCAL_FALLBACK),
        (300.0, 500.0, "local", HeatSource.COMPUTE, ColdReason.LOCAL_FALLBACK),
        (0.0, 500.0, "cloud", HeatSource.OFF, ColdReason.NO_POWER),
        (500.0, 500.0, "cloud", HeatSource.COMPUTE, ColdReason.FULL_POWER),
        (500.0, 500.0, "local", None, ColdReason.FULL_POWER),
        (250.0, 500.0, "cloud", HeatSource.FILLER, ColdReason.CATCHING_UP),
    ],
)
def test_the_reason_in_plain_words(
    qrad_unit: UnitServer,
    power: float,
    limit: float,
    control: str,
    source: HeatSource | None,
    reason: ColdReason,
) -> None:
    """The heat source the cloud reports, else what the Q.rad itself does."""
    wire = qrad_unit.unit.wire_state()
    wire["power"] |= {"power_w": power, "power_target_w": power, "power_limit_w": limit}
    wire["thermostat"]["control"] = control
    state = QradState.from_dict(wire)
    assert cold_reason(state, status(source) if source else None) is reason


async def test_removing_the_qrad_removes_its_issue(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """No issue is left behind for a Q.rad that is no longer there."""
    await call(hass, NUMBER_DOMAIN, SERVICE_SET_VALUE, entity_id=LIMIT, value=0)
    await call(
        hass, CLIMATE_DOMAIN, SERVICE_SET_TEMPERATURE, entity_id=CLIMATE, temperature=30
    )
    await wait_for(hass, lambda: issue(hass, qrad_unit) is not None)
    assert await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert issue(hass, qrad_unit) is None
