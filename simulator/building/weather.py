"""The building's weather, and the controller's forecast of it.

A weather is a named profile (a daily cosine, each later day shifted by a
seeded amount) or a file of hourly outdoor temperatures. The controller never
sees it: every policy plans with the same forecast, which is wrong by a seeded
error that grows with the horizon, as a real one is. Forecasts are issued every
6 hours; the error of one issue is `NOWCAST_K * b + PER_DAY_K * d * lead_days`,
with `b` and `d` drawn from a normal law per issue and `lead_days` counted from
the issue, so about 0.5 K at the issue, 1.6 K a day later and 2.3 K at 36 h.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import math
from pathlib import Path
import random

from .scenario import START

ISSUE_EVERY = timedelta(hours=6)
NOWCAST_K = 0.5
PER_DAY_K = 1.5


class WeatherFileError(ValueError):
    """A file of hourly temperatures that cannot be used, and why."""


@dataclass(frozen=True, kw_only=True)
class Profile:
    """A day's cosine (coldest at 03:00) and how much later days move."""

    name: str
    description: str
    mean_c: float
    swing_c: float
    day_shift_k: float


PROFILES = {
    profile.name: profile
    for profile in (
        Profile(
            name="january",
            description="January in northern France, 1 °C at 03:00 to 8 °C at 15:00",
            mean_c=4.5,
            swing_c=3.5,
            day_shift_k=3.0,
        ),
        Profile(
            name="cold",
            description="a cold spell, -1.5 °C at 03:00 to 4.5 °C at 15:00",
            mean_c=1.5,
            swing_c=3.0,
            day_shift_k=2.0,
        ),
        Profile(
            name="shoulder",
            description="an autumn or spring day, 6 °C at 03:00 to 16 °C at 15:00",
            mean_c=11.0,
            swing_c=5.0,
            day_shift_k=3.0,
        ),
    )
}


@dataclass(frozen=True, kw_only=True)
class ProfileWeather:
    """A profile's outdoor temperature, its later days shifted by `seed`."""

    profile: Profile
    seed: int

    @property
    def name(self) -> str:
        """What the report calls it."""
        return self.profile.name

    def __call__(self, moment: datetime) -> float:
        """The outdoor temperature at `moment`."""
        day = (moment - START).days
        shift = (
            random.Random(f"weather-{self.seed}-{day}").uniform(
                -self.profile.day_shift_k, self.profile.day_shift_k
            )
            if day
            else 0.0
        )
        hour = (moment - START).total_seconds() / 3600 % 24
        return (
            self.profile.mean_c
            + shift
            + self.profile.swing_c * math.cos(2 * math.pi * (hour - 15.0) / 24)
        )


@dataclass(frozen=True, kw_only=True)
class HourlyWeather:
    """Outdoor temperatures hour by hour from the run's start, interpolated."""

    name: str
    temperatures_c: tuple[float, ...]

    @classmethod
    def load(cls, path: Path) -> HourlyWeather:
        """Read a CSV file: a header `hour,outdoor_c`, then one row per hour from 0."""
        try:
            with path.open(newline="", encoding="utf-8") as file:
                rows = list(csv.reader(file))
        except (OSError, UnicodeDecodeError) as err:
            raise WeatherFileError(f"{path}: cannot be read ({err})") from err
        if not rows or [cell.strip() for cell in rows[0]] != ["hour", "outdoor_c"]:
            raise WeatherFileError(f"{path}: the first line must be 'hour,outdoor_c'")
        temperatures: list[float] = []
        for line, row in enumerate(rows[1:], start=2):
            if not row:
                continue
            try:
                hour, value = int(row[0]), float(row[1])
            except (IndexError, ValueError) as err:
                raise WeatherFileError(
                    f"{path}, line {line}: expected an hour and a temperature"
                ) from err
            if hour != len(temperatures):
                raise WeatherFileError(
                    f"{path}, line {line}: hour {hour}, expected {len(temperatures)}"
                )
            if not -40.0 <= value <= 45.0:
                raise WeatherFileError(
                    f"{path}, line {line}: {value} °C is outside -40..45 °C"
                )
            temperatures.append(value)
        if len(temperatures) < 2:
            raise WeatherFileError(f"{path}: at least two hours are needed")
        return cls(name=path.stem, temperatures_c=tuple(temperatures))

    def check_covers(self, days: float) -> None:
        """Refuse a run longer than the file."""
        hours = len(self.temperatures_c) - 1
        if days * 24 > hours:
            raise WeatherFileError(
                f"{self.name}: {hours} h of weather for a run of {days * 24:.0f} h"
            )

    def __call__(self, moment: datetime) -> float:
        """Interpolated; beyond the file (forecasts past the run) its last hour."""
        hours = max((moment - START).total_seconds() / 3600, 0.0)
        index = int(hours)
        if index >= len(self.temperatures_c) - 1:
            return self.temperatures_c[-1]
        before, after = self.temperatures_c[index], self.temperatures_c[index + 1]
        return before + (after - before) * (hours - index)


Weather = ProfileWeather | HourlyWeather


@dataclass(kw_only=True)
class Forecast:
    """`weather` as forecast at a moment: the same for every policy of a run."""

    weather: Weather
    seed: int
    _errors: dict[int, tuple[float, float]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __call__(self, issued: datetime, at: datetime) -> float:
        """The temperature at `at` in the latest forecast issued by `issued`."""
        issue = int((issued - START) / ISSUE_EVERY)
        bias, drift = self._error(issue)
        lead_days = max((at - START - issue * ISSUE_EVERY) / timedelta(days=1), 0.0)
        return self.weather(at) + NOWCAST_K * bias + PER_DAY_K * drift * lead_days

    def _error(self, issue: int) -> tuple[float, float]:
        if (error := self._errors.get(issue)) is None:
            rng = random.Random(f"forecast-{self.seed}-{issue}")
            error = self._errors[issue] = (rng.gauss(), rng.gauss())
        return error


def weather_for(name: str, seed: int, file: Path | None = None) -> Weather:
    """The named profile, or the file's temperatures when a file is given."""
    if file is not None:
        return HourlyWeather.load(file)
    if name not in PROFILES:
        raise ValueError(f"weather must be one of {', '.join(PROFILES)}")
    return ProfileWeather(profile=PROFILES[name], seed=seed)
