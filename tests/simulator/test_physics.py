"""The emulated room heats and cools the way a real room would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simulator.clock import Clock
from simulator.device.physics import (
    LocalThermostat,
    Room,
    RoomParameters,
    RoomUse,
    outdoor_temperature,
    people_at,
    room_use,
)
from simulator.device.unit import QradUnitModel
from simulator.identity import make_identities

STEP_S = 10.0


def test_local_thermostat_reaches_and_holds_the_setpoint() -> None:
    """15 C (after a setback) to 20 C within hours on 500 W, then held within 0.5 C."""
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


def test_cold_soaked_room_takes_hours_not_minutes() -> None:
    """With its fabric cold too, 500 W need many hours, and still get there."""
    room = Room.for_floor_area(20.0, temperature=15.0, fabric_temperature=15.0)
    thermostat = LocalThermostat()
    elapsed = 0.0
    while room.temperature < 19.5:
        power = thermostat.power(20.0, room.temperature, STEP_S, 500.0)
        room.step(STEP_S, power, outdoor_c=5.0, people=0)
        elapsed += STEP_S
        assert elapsed < 24 * 3600, "500 W should warm a cold room within a day"
    assert elapsed > 6 * 3600, "3.3 MJ/K of fabric cannot warm up in six hours"


def test_unheated_room_drifts_to_outdoors() -> None:
    """With no power the room cools toward outdoors, never below, the air first."""
    room = Room.for_floor_area(20.0, temperature=20.0, fabric_temperature=20.0)
    previous = room.temperature
    for hour in range(240):
        for _ in range(int(3600 / STEP_S)):
            room.step(STEP_S, 0.0, outdoor_c=3.0, people=0)
        assert 3.0 <= room.temperature <= previous
        assert room.temperature <= room.fabric_temperature
        previous = room.temperature
        if hour == 0:
            assert room.temperature < 19.5, "the air cools within the first hour"
        if hour == 47:
            assert room.temperature > 8.0, "the fabric keeps it warm for days"
    assert room.temperature < 3.5


def test_rooms_follow_the_sizing_and_vary_per_flat() -> None:
    """500 W hold 20-25 K above outdoors; flats differ, rooms of a flat agree."""
    for area in (14.0, 20.0, 27.0):
        nominal = RoomParameters.nominal(area)
        assert 20.0 <= nominal.conductance_w_per_k <= 25.0
        assert nominal.fabric_capacity_j_per_k == pytest.approx(165_000 * area)
        room = Room(
            parameters=nominal,
            temperature=20.0,
            fabric_temperature=nominal.steady_fabric(20.0, 0.0),
        )
        for _ in range(2000):
            room.step(600.0, 500.0, outdoor_c=0.0, people=0)
        assert 20.0 <= room.temperature <= 25.5
    flats = {RoomParameters.varied(20.0, f"7-flat-{n}") for n in range(10)}
    assert len(flats) == 10
    assert RoomParameters.varied(20.0, "7-flat-1") == RoomParameters.varied(
        20.0, "7-flat-1"
    )


def test_people_warm_the_room() -> None:
    """Three people add about 200 W of heat."""
    empty = Room.for_floor_area(20.0, temperature=18.0)
    busy = Room.for_floor_area(20.0, temperature=18.0)
    for _ in range(360):
        empty.step(STEP_S, 0.0, outdoor_c=5.0, people=0)
        busy.step(STEP_S, 0.0, outdoor_c=5.0, people=3)
    assert busy.temperature > empty.temperature + 0.3


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


def test_rooms_are_occupied_as_their_use_has_it() -> None:
    """Bedrooms at night, offices in working hours, living rooms otherwise."""
    assert room_use("Bedroom") is RoomUse.SLEEPING
    assert room_use("Kids room") is RoomUse.SLEEPING
    assert room_use("Office") is RoomUse.WORKING
    assert room_use("Living room") is RoomUse.LIVING
    # Wednesday 2 December 2026 to Tuesday 8 December, hour by hour.
    hours = [datetime(2026, 12, day, hour, tzinfo=UTC) for day in range(2, 9)
             for hour in range(24)]  # fmt: skip
    at_night = [moment for moment in hours if moment.hour < 6]
    working = [
        moment for moment in hours if moment.weekday() < 5 and 9 <= moment.hour < 12
    ]
    assert all(people_at(moment, "a", RoomUse.SLEEPING) > 0 for moment in at_night)
    assert all(people_at(moment, "a", RoomUse.WORKING) == 0 for moment in at_night)
    assert all(people_at(moment, "a", RoomUse.WORKING) > 0 for moment in working)
    # Drawn per room: two bedrooms are not full at the same hours.
    assert [people_at(moment, "a", RoomUse.SLEEPING) for moment in hours] != [
        people_at(moment, "b", RoomUse.SLEEPING) for moment in hours
    ]


def test_the_rooms_of_a_fleet_live_differently() -> None:
    """The demo's bedroom and office are not full at the same hours, nor as bright."""
    bedroom, office = (
        QradUnitModel(identity=identity, clock=Clock(0), seed=7)
        for identity in make_identities(3, 7)[1:]
    )
    assert (bedroom.identity.name, office.identity.name) == ("Bedroom", "Office")
    assert bedroom.daylight_share != office.daylight_share
    day = [datetime(2026, 12, 2, hour, tzinfo=UTC) for hour in range(24)]
    alike = sum(bedroom.people_in(hour) == office.people_in(hour) for hour in day)
    assert alike < 12
