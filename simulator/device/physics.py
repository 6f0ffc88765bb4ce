"""The room a Q.rad heats: one thermal node, the weather, the people in it.

The room is one heat capacity C (air, furniture and the inner skin of the walls)
losing heat to outdoors through a conductance UA:

    C dT/dt = P - UA (T - T_out)

For a 14-27 m2 room, C = 350 kJ/K + 15 kJ/(m2 K) of floor and UA = 1.1 W/(m2 K)
of floor + 2 W/K: a 20 m2 room has C = 650 kJ/K and UA = 24 W/K, so 500 W
holds it about 21 K above outdoors, and it cools with a time constant of
C/UA = 7.5 h when unheated. All the electrical power becomes heat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import math
import random

SECONDS_PER_HOUR = 3600.0
MAX_POWER_W = 500.0
GFLOPS_PER_W = 1.2


def outdoor_temperature(moment: datetime) -> float:
    """A winter day: about 2 C before dawn, 8 C in mid-afternoon."""
    hour = moment.hour + moment.minute / 60
    return 5.0 - 3.0 * math.cos(2 * math.pi * (hour - 3.0) / 24)


def daylight_lux(moment: datetime) -> float:
    """Daylight reaching the room: none at night, about 800 lx at noon."""
    hour = moment.hour + moment.minute / 60
    if not 8.0 <= hour <= 17.0:
        return 0.0
    return 800.0 * math.sin(math.pi * (hour - 8.0) / 9.0)


def people_at(moment: datetime, rng_seed: int) -> int:
    """How many people are in the room: mornings and evenings, some days more."""
    hour = moment.hour
    day = random.Random(f"{rng_seed}-{moment.date().isoformat()}-{hour}")
    if 7 <= hour < 9 or 18 <= hour < 23:
        return day.choice((1, 2, 2, 3))
    if 9 <= hour < 18:
        return day.choice((0, 0, 0, 1))
    return day.choice((0, 1, 2))


@dataclass(kw_only=True)
class Room:
    """Temperature and air of one room."""

    heat_capacity_j_per_k: float
    conductance_w_per_k: float
    temperature: float
    co2_ppm: float = 450.0

    @classmethod
    def for_floor_area(cls, area_m2: float, temperature: float) -> Room:
        """A room of that floor area (see the module docstring for the constants)."""
        return cls(
            heat_capacity_j_per_k=350_000.0 + 15_000.0 * area_m2,
            conductance_w_per_k=1.1 * area_m2 + 2.0,
            temperature=temperature,
        )

    def step(
        self, seconds: float, power_w: float, outdoor_c: float, people: int
    ) -> None:
        """Advance `seconds` under `power_w` of heat (exact for constant inputs)."""
        steady = outdoor_c + power_w / self.conductance_w_per_k
        decay = math.exp(
            -seconds * self.conductance_w_per_k / self.heat_capacity_j_per_k
        )
        self.temperature = steady + (self.temperature - steady) * decay
        target_co2 = 420.0 + 350.0 * people
        self.co2_ppm = target_co2 + (self.co2_ppm - target_co2) * math.exp(
            -seconds / SECONDS_PER_HOUR
        )


@dataclass(kw_only=True)
class LocalThermostat:
    """The unit's own PI thermostat, used when no valid cloud control exists.

    Proportional 250 W/K with a 30-minute integral time holds the target
    without the steady offset of a proportional-only controller.
    """

    gain_w_per_k: float = 250.0
    integral_time_s: float = 1800.0
    integral_w: float = 0.0

    def power(
        self, target: float, temperature: float, seconds: float, limit_w: float
    ) -> float:
        """Power for the next `seconds`, capped by `limit_w`."""
        error = target - temperature
        self.integral_w += self.gain_w_per_k * error * seconds / self.integral_time_s
        self.integral_w = min(max(self.integral_w, 0.0), limit_w)
        return min(max(self.gain_w_per_k * error + self.integral_w, 0.0), limit_w)

    def reset(self) -> None:
        """Forget the integral, e.g. when heating is switched off."""
        self.integral_w = 0.0
