"""An emulated Q.rad started with its past: meters and room air of each hour."""

from __future__ import annotations

from datetime import datetime, timedelta
import itertools

import aiohttp

from simulator.clock import Clock
from simulator.device.history import live_past
from simulator.device.unit import QradUnitModel
from simulator.fleet import Fleet, FleetConfig
from simulator.identity import make_identities
from simulator.testing import free_port


def _unit() -> QradUnitModel:
    (identity,) = make_identities(1, 3)
    return QradUnitModel(identity=identity, clock=Clock(60), seed=3)


def test_a_week_of_past_fills_the_meter_hour_by_hour() -> None:
    """Whole hours, oldest first, a meter that never falls and ends on the unit's."""
    unit = _unit()
    unit.thermostat.target, unit.thermostat.preset = 21.5, "none"
    hours = live_past(unit, timedelta(days=7))
    assert len(hours) in (167, 168)
    starts = [hour.start for hour in hours]
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(starts))
    assert starts[-1] + timedelta(hours=1) <= unit.clock.now()
    meters = [hour.energy_kwh for hour in hours]
    assert meters == sorted(meters)
    # 500 W at most: a week of heating is tens of kWh, never more than the cap.
    assert 10 < meters[-1] <= unit.energy_kwh <= 0.5 * 24 * 7
    for hour in hours:
        assert hour.temperature_min <= hour.temperature_mean <= hour.temperature_max
    # Its own day program heated the past: cooler nights than days.
    means = [hour.temperature_mean for hour in hours[-48:]]
    assert max(means) - min(means) > 1.0
    # The owner's settings are as they were.
    assert (
        unit.thermostat.hvac_mode,
        unit.thermostat.target,
        unit.thermostat.preset,
    ) == ("heat", 21.5, "none")


async def test_the_history_route_serves_the_past() -> None:
    """GET /_emulator/history: each hour's start, meter and temperatures."""
    config = FleetConfig(
        count=1, announce=False, base_port=free_port(), past=timedelta(days=2)
    )
    async with Fleet(config) as fleet, aiohttp.ClientSession() as http:
        unit = fleet.units[0]
        async with http.get(
            f"http://{unit.host}:{unit.port}/_emulator/history"
        ) as answer:
            assert answer.status == 200
            hours = (await answer.json())["hours"]
    assert len(hours) in (47, 48)
    first = hours[0]
    assert datetime.fromisoformat(first["start"]).minute == 0
    assert set(first) == {"start", "energy_kwh", "temperature"}
    assert set(first["temperature"]) == {"mean", "min", "max"}
    assert hours[-1]["energy_kwh"] <= unit.unit.energy_kwh
