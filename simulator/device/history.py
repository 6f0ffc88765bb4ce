"""The past an emulated Q.rad has lived before it starts: hourly meters and room air.

A real Q.rad installed a week ago has a week of energy on its meter and a room
that has been heated all that time; a demo that starts with empty meters shows
empty graphs. `live_past` runs the unit's own model (its thermostat and
room) through that past at a coarse step, on its own day program (comfort by
day, eco at night, as an owner who has just let it run), ending where its clock
is now, and keeps what an owner's history would hold: for each whole hour, the
meter at the hour's end and the room temperature's mean, minimum and maximum.
The unit's settings and household are as they were before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
import math

from simulator.clock import Clock, iso

from .unit import QradUnitModel

STEP_S = 60.0


@dataclass(frozen=True)
class PastHour:
    """One hour of a unit's past, as its history route serves it (section 7)."""

    start: datetime
    energy_kwh: float
    temperature_mean: float
    temperature_min: float
    temperature_max: float

    def wire(self) -> dict[str, object]:
        """The route's JSON form of the hour."""
        return {
            "start": iso(self.start),
            # Down, like a meter's display: never more than was counted.
            "energy_kwh": math.floor(self.energy_kwh * 1e4) / 1e4,
            "temperature": {
                "mean": round(self.temperature_mean, 2),
                "min": round(self.temperature_min, 2),
                "max": round(self.temperature_max, 2),
            },
        }


class _PastClock(Clock):
    """A clock that shows a moment of the past and moves only when told."""

    def __init__(self, moment: datetime, speed: float) -> None:
        super().__init__(speed)
        self.moment = moment

    def now(self) -> datetime:
        """The moment being lived."""
        return self.moment


def live_past(unit: QradUnitModel, length: timedelta) -> list[PastHour]:
    """Live `length` of the unit's past, ending now; its whole hours, oldest first.

    The meters count on from what they show (zero for a unit installed
    `length` ago) to what they would show now; the room's state is the past's
    last.
    """
    clock, thermostat, household = unit.clock, unit.thermostat, unit.household
    settings = (thermostat.hvac_mode, thermostat.target, thermostat.preset)
    lively = household.lively
    end = clock.now()
    moment = end - length
    unit.clock = _PastClock(moment, clock.speed)
    thermostat.hvac_mode, household.lively = "auto", False
    hours: list[PastHour] = []
    hour_start = _next_hour(moment)
    temperatures: list[float] = []
    try:
        while moment < end:
            step = min(STEP_S, (end - moment).total_seconds())
            unit.step(step)
            moment += timedelta(seconds=step)
            unit.clock.moment = moment
            if moment > hour_start:
                temperatures.append(unit.room.temperature)
            if moment >= hour_start + timedelta(hours=1):
                hours.append(_hour(hour_start, unit.energy_kwh, temperatures))
                hour_start += timedelta(hours=1)
                temperatures = []
    finally:
        unit.clock = clock
        thermostat.hvac_mode, thermostat.target, thermostat.preset = settings
        household.lively = lively
    return hours


def _next_hour(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(hours=1)


def _hour(start: datetime, energy_kwh: float, temperatures: list[float]) -> PastHour:
    return PastHour(
        start=start,
        energy_kwh=energy_kwh,
        temperature_mean=sum(temperatures) / len(temperatures),
        temperature_min=min(temperatures),
        temperature_max=max(temperatures),
    )
