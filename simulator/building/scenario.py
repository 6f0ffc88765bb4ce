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
- Weather (`weather.py`): a named profile or a file of hourly temperatures,
  and the controller's forecast of it, wrong by a seeded error that grows with
  the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
import random

from simulator.device.physics import RoomParameters

QRADS = 346
FLATS = 50
START = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
SCHEDULE_STEP = timedelta(minutes=30)
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

    def changes(
        self, after: datetime, until: datetime
    ) -> list[tuple[datetime, str, float]]:
        """Each change of preset in (`after`, `until`]: when, to what, which target.

        The schedules change on the half hour, so the half hours are enough.
        """
        found = []
        current = self.preset(after)
        moment = after.replace(minute=30 if after.minute >= 30 else 0, second=0)
        while (moment := moment + SCHEDULE_STEP) <= until:
            preset, target = self.target(moment)
            if preset != current:
                found.append((moment, preset, target))
                current = preset
        return found


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
        preset = self.flat.preset(moment)
        if preset == "comfort":
            return _drawn_people(seed, self.serial, moment.replace(minute=0, second=0))
        if preset == "eco" and (moment.hour >= 23 or moment.hour < 7):
            return 1 if self.sleeper else 0
        return 0


@lru_cache(maxsize=4096)
def _drawn_people(seed: int, serial: str, hour: datetime) -> int:
    """0-2 people, drawn once per room and hour (the draw is the slow part)."""
    return random.Random(f"{seed}-{serial}-{hour:%Y%m%d%H}").choice((0, 0, 1, 1, 2))


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
