"""The emulated room heats and cools the way a real room would."""

from __future__ import annotations

from datetime import UTC, datetime

from simulator.clock import Clock
from simulator.device.physics import LocalThermostat, Room, outdoor_temperature
from simulator.device.unit import QradUnitModel
from simulator.identity import make_identities

STEP_S = 10.0


def test_local_thermostat_reaches_and_holds_the_setpoint() -> None:
    """15 C to 20 C within a few hours on 500 W, then held within 0.5 C."""
    room = Room.for_floor_area(20.0, temperature=15.0)
    thermostat = LocalThermostat()
    elapsed = 0.0
    while room.temperature < 19.5:
        power = thermostat.power(20.0, room.temperature, STEP_S, 500.0)
        room.step(STEP_S, power, outdoor_c=5.0, people=0)
        elapsed += STEP_S
        assert elapsed < 6 * 3600, "the room should warm up within six hours"
    assert elapsed > 1800, "500 W cannot heat a room by 4.5 C in half an hour"
    temperatures = []
    for _ in range(int(6 * 3600 / STEP_S)):
        power = thermostat.power(20.0, room.temperature, STEP_S, 500.0)
        room.step(STEP_S, power, outdoor_c=5.0, people=0)
        temperatures.append(room.temperature)
    settled = temperatures[len(temperatures) // 2 :]
    assert max(abs(t - 20.0) for t in settled) <= 0.5


def test_unheated_room_drifts_to_outdoors() -> None:
    """With no power the room cools toward the outdoor temperature, never below."""
    room = Room.for_floor_area(20.0, temperature=20.0)
    for _ in range(int(48 * 3600 / STEP_S)):
        room.step(STEP_S, 0.0, outdoor_c=3.0, people=0)
    assert 3.0 <= room.temperature < 3.5


def test_outdoor_temperature_follows_the_day() -> None:
    """Cold before dawn, mild in the afternoon."""
    night = outdoor_temperature(datetime(2026, 1, 10, 3, tzinfo=UTC))
    afternoon = outdoor_temperature(datetime(2026, 1, 10, 15, tzinfo=UTC))
    assert night < 3.0
    assert afternoon > 7.0


def test_meters_only_grow() -> None:
    """Energy and compute meters never decrease while the unit heats."""
    identity = make_identities(1, 3)[0]
    unit = QradUnitModel(identity=identity, clock=Clock(60), seed=3)
    readings = []
    for _ in range(50):
        unit.step(60.0)
        readings.append((unit.energy_kwh, unit.compute_tflop))
    assert readings == sorted(readings)
    assert readings[-1][0] > 0
