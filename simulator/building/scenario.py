"""The building: 50 flats, 346 Q.rads, their rooms, people, schedules and weather.

Everything is drawn from one seed, so both policies face the same building.

- Flats hold 5 to 9 Q.rads (one per room, 14-27 m2), 346 in all; each flat's
  rooms share its construction (`RoomParameters.varied`, seeded per flat).
- Schedules: "workers" flats are at comfort 06:30-08:00 and 18:00-22:30 and
  away in between; "home" flats at comfort 07:00-23:00; "late" flats at
  comfort 09:00-13:00 and 19:00-01:00; every flat is at eco otherwise. Comfort
  is 19-21 C per flat, eco 2.5 K and away 4 K below it.
- People: while a flat is at comfort each room holds 0-2 people (70 W each),
  one person sleeps in some rooms at night.
- Weather: a January day in northern France, 1 C at 03:00 to 8 C at 15:00,
  each following day colder or milder by up to 3 K (the controller's forecast
  is the same curve).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import math
import random

from simulator.device.physics import RoomParameters

QRADS = 346
FLATS = 50
START = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
SCHEDULES = {
    "workers": ((6.5, 8.0, "comfort"), (8.0, 18.0, "away"), (18.0, 22.5, "comfort")),
    "home": ((7.0, 23.0, "comfort"),),
    "late": ((9.0, 13.0, "comfort"), (19.0, 25.0, "comfort")),
}


@dataclass(frozen=True, kw_only=True)
class Flat:
    """One flat: an account, a schedule and the preset temperatures."""

    index: int
    account: str
    schedule: str
    comfort_c: float

    def preset(self, moment: datetime) -> str:
        """Comfort, eco or away at `moment`."""
        hour = moment.hour + moment.minute / 60
        for start, end, preset in SCHEDULES[self.schedule]:
            if start <= hour < end or start <= hour + 24 < end:
                return preset
        return "eco"

    def target(self, moment: datetime) -> tuple[str, float]:
        """The preset and its temperature at `moment`."""
        preset = self.preset(moment)
        offset = {"comfort": 0.0, "eco": -2.5, "away": -4.0}[preset]
        return preset, self.comfort_c + offset


@dataclass(frozen=True, kw_only=True)
class RoomSpec:
    """One Q.rad's room."""

    serial: str
    flat: Flat
    area_m2: float
    parameters: RoomParameters
    sleeper: bool

    def people(self, moment: datetime, seed: int) -> int:
        """People in the room at `moment` (drawn per hour)."""
        rng = random.Random(f"{seed}-{self.serial}-{moment:%Y%m%d%H}")
        preset = self.flat.preset(moment)
        if preset == "comfort":
            return rng.choice((0, 0, 1, 1, 2))
        if preset == "eco" and (moment.hour >= 23 or moment.hour < 7):
            return 1 if self.sleeper else 0
        return 0


def outdoor(moment: datetime, seed: int = 1) -> float:
    """The scenario's outdoor temperature."""
    day = (moment - START).days
    shift = random.Random(f"weather-{seed}-{day}").uniform(-3.0, 3.0) if day else 0.0
    hour = moment.hour + moment.minute / 60 + moment.second / 3600
    return 4.5 + shift + 3.5 * math.cos(2 * math.pi * (hour - 15.0) / 24)


def flat_sizes(seed: int, flats: int = FLATS, qrads: int = QRADS) -> list[int]:
    """Q.rads per flat, 5 to 9, `qrads` in all."""
    rng = random.Random(f"flats-{seed}")
    sizes = [rng.choice((5, 6, 7, 7, 8, 9)) for _ in range(flats)]
    while sum(sizes) != qrads:
        index = rng.randrange(flats)
        if sum(sizes) > qrads and sizes[index] > 5:
            sizes[index] -= 1
        elif sum(sizes) < qrads and sizes[index] < 9:
            sizes[index] += 1
    return sizes


def building(seed: int, flats: int = FLATS, qrads: int = QRADS) -> list[RoomSpec]:
    """Every room of the building."""
    rng = random.Random(f"building-{seed}")
    rooms = []
    for index, size in enumerate(flat_sizes(seed, flats, qrads), start=1):
        flat = Flat(
            index=index,
            account=f"flat-{index:02d}",
            schedule=rng.choice(("workers", "workers", "home", "late")),
            comfort_c=rng.choice((19.0, 19.5, 20.0, 20.0, 20.5, 21.0)),
        )
        for room in range(size):
            area = round(rng.uniform(14.0, 27.0), 1)
            rooms.append(
                RoomSpec(
                    serial=f"QR3-{index:02d}{room:02d}{rng.randrange(256):02X}",
                    flat=flat,
                    area_m2=area,
                    parameters=RoomParameters.varied(area, f"{seed}-flat-{index}"),
                    sleeper=room < 2,
                )
            )
    return rooms


def moments(days: float, period_s: float) -> list[datetime]:
    """The control periods of the run."""
    count = int(days * 86_400 / period_s)
    return [START + timedelta(seconds=k * period_s) for k in range(count)]
