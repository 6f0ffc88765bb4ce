"""The room a Q.rad heats: two thermal nodes, the weather, the people in it.

The room is the ISO 13790 simple hourly model reduced to two nodes: the **air**
(with the furniture, which follows it within minutes) and the **fabric** (the
inner layers of walls, floor and ceiling that store heat over a day):

    C_a dT_a/dt = P + G - H_af (T_a - T_f) - H_ao (T_a - T_out)
    C_f dT_f/dt =         H_af (T_a - T_f) - H_fo (T_f - T_out)

P is the Q.rad's electrical power (all of it becomes heat), G the sensible heat
of the people in the room. The constants, for a room of floor area A (m2):

- C_a = 350 kJ/K for a 20 m2 room, scaled with A: the air (1.2 kJ/(m3 K), about
  60 kJ/K for 50 m3) and the furniture and contents, which the literature puts
  at roughly 10-20 kJ/(m2 K) of floor (Johra and Heiselberg, "Influence of
  internal thermal mass on the indoor thermal dynamics", Renewable and
  Sustainable Energy Reviews 69, 2017).
- C_f = 165 kJ/(m2 K) x A: ISO 13790:2008 table 12, class "medium" (the
  effective heat capacity of a building of masonry walls and concrete floors).
- H_af = 9.23 W/(m2 K) x A: the conductance between the fabric and the air of
  ISO 13790 (h_ms = 9.1 W/(m2 K) over A_m = 2.5 A, in series with
  h_is = 3.45 W/(m2 K) over A_t = 4.5 A, sections 7.2.2 and 12.2.2).
- H_ao, from the air to outdoors: ventilation 0.34 Wh/(m3 K) x 0.5 air changes
  per hour x 2.5 m x A (ISO 13790 9.3 and EN 16798-1's 0.5 h-1 for dwellings)
  plus windows of 15 % of A at U = 1.4 W/(m2 K) (double glazing).
- H_fo, from the fabric to outdoors (the opaque wall): what makes the whole
  room lose H = 20 W/K at 14 m2 to 25 W/K at 27 m2, so that 500 W hold a room
  about 20-24 K above outdoors, i.e. about 20 C at 0 C outside (the operator's
  sizing of one Q.rad per 14-27 m2 room).
- G = 70 W of sensible heat per person (ISO 7730 / ASHRAE, seated, light work).

A 20 m2 room has C_a = 350 kJ/K, C_f = 3.3 MJ/K, H_af = 185 W/K and H = 22 W/K:
its air follows the fabric within about half an hour (C_a/H_af), and the fabric
cools with a time constant of about two days. A room heated from cold through
and through (fabric included) therefore needs many hours; one coming out of a
night's setback, whose fabric stayed warm, recovers within one or two.

`RoomParameters.varied` spreads the constants per flat, seeded: insulation
(H x 0.85-1.2), fabric (C_f x 0.85-1.15), furniture (C_a x 0.85-1.15) and
airtightness (ventilation x 0.8-1.3), the spread of dwellings of one building
in ISO 52016-1 style archetype studies.

Both nodes are integrated exactly for piecewise-constant inputs (the matrix
exponential of the 2x2 system), so a step of any length is stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
import functools
import math
import random

SECONDS_PER_HOUR = 3600.0
MAX_POWER_W = 500.0
GFLOPS_PER_W = 1.2
PERSON_HEAT_W = 70.0
ROOM_HEIGHT_M = 2.5
AIR_CAPACITY_J_PER_M2K = 17_500.0  # 350 kJ/K for 20 m2
FABRIC_CAPACITY_J_PER_M2K = 165_000.0  # ISO 13790, class medium
AIR_FABRIC_W_PER_M2K = 1 / (1 / (9.1 * 2.5) + 1 / (3.45 * 4.5))  # 9.23
VENTILATION_W_PER_M3K = 0.34 * 0.5  # 0.34 Wh/(m3 K) x 0.5 air changes per hour
WINDOW_SHARE = 0.15
WINDOW_U_W_PER_M2K = 1.4


def outdoor_temperature(moment: datetime) -> float:
    """A winter day: about 2 C before dawn, 8 C in mid-afternoon."""
    hour = moment.hour + moment.minute / 60
    return 5.0 - 3.0 * math.cos(2 * math.pi * (hour - 3.0) / 24)


def daylight_lux(moment: datetime, share: float = 1.0) -> float:
    """Daylight reaching the room: none at night, about 800 lx at noon.

    `share` is what the room's windows let in (their size and which way they
    face): 1.0 for a room facing south with large windows.
    """
    hour = moment.hour + moment.minute / 60
    if not 8.0 <= hour <= 17.0:
        return 0.0
    return share * 800.0 * math.sin(math.pi * (hour - 8.0) / 9.0)


class RoomUse(StrEnum):
    """What a room is for, which says when people are in it."""

    LIVING = "living"
    SLEEPING = "sleeping"
    WORKING = "working"


_SLEEPING_ROOMS = ("bedroom", "kids room", "guest room")
_WORKING_ROOMS = ("office", "study")


def room_use(name: str) -> RoomUse:
    """The use of a room, from the name the unit was born with."""
    lowered = name.lower()
    if lowered.startswith(_SLEEPING_ROOMS):
        return RoomUse.SLEEPING
    if lowered.startswith(_WORKING_ROOMS):
        return RoomUse.WORKING
    return RoomUse.LIVING


def people_at(moment: datetime, rng_seed: str, use: RoomUse = RoomUse.LIVING) -> int:
    """How many people are in the room now, as its use has them, some days more."""
    return _people_in_hour(rng_seed, use, moment.date(), moment.hour)


@functools.lru_cache(maxsize=4096)
def _people_in_hour(rng_seed: str, use: RoomUse, day_of: date, hour: int) -> int:
    """The same for a whole hour: drawn once, not twice per unit and tick.

    Seeding a Random from a string hashes it (SHA-512): at one draw per unit
    per tick and per state, it was a tenth of the emulator's work.
    """
    day = random.Random(f"{rng_seed}-{day_of.isoformat()}-{hour}")
    return day.choice(_who_may_be_there(use, day_of, hour))


def _who_may_be_there(use: RoomUse, day_of: date, hour: int) -> tuple[int, ...]:
    """The head counts an hour's draw picks from, as the room's use has it."""
    if use is RoomUse.SLEEPING:
        return (1, 2, 2) if hour >= 22 or hour < 7 else (0, 0, 0, 1)
    if use is RoomUse.WORKING:
        if day_of.weekday() < 5 and (9 <= hour < 12 or 14 <= hour < 18):
            return (1, 1, 2)
        return (0, 0, 1) if 7 <= hour < 22 else (0,)
    if 7 <= hour < 9 or 18 <= hour < 23:
        return (1, 2, 2, 3)
    return (0, 0, 0, 1) if 9 <= hour < 18 else (0, 1, 2)


def whole_room_conductance(area_m2: float) -> float:
    """H, W/K: 20 W/K at 14 m2 to 25 W/K at 27 m2 (see the module docstring)."""
    return 20.0 + 5.0 * (area_m2 - 14.0) / 13.0


@dataclass(frozen=True, kw_only=True)
class RoomParameters:
    """The constants of one room's two-node model."""

    floor_area_m2: float
    air_capacity_j_per_k: float
    fabric_capacity_j_per_k: float
    air_fabric_w_per_k: float
    air_outdoor_w_per_k: float
    fabric_outdoor_w_per_k: float

    @classmethod
    def nominal(
        cls,
        area_m2: float,
        *,
        insulation: float = 1.0,
        fabric: float = 1.0,
        furniture: float = 1.0,
        airtightness: float = 1.0,
    ) -> RoomParameters:
        """A room of that floor area, the factors scaling the nominal constants."""
        air_fabric = AIR_FABRIC_W_PER_M2K * area_m2
        ventilation = VENTILATION_W_PER_M3K * ROOM_HEIGHT_M * area_m2 * airtightness
        windows = WINDOW_SHARE * area_m2 * WINDOW_U_W_PER_M2K * insulation
        total = whole_room_conductance(area_m2) * insulation
        air_outdoor = ventilation + windows
        # What the opaque wall must add, through the fabric, to make `total`.
        rest = max(total - air_outdoor, 1.0)
        fabric_outdoor = air_fabric * rest / (air_fabric - rest)
        return cls(
            floor_area_m2=area_m2,
            air_capacity_j_per_k=AIR_CAPACITY_J_PER_M2K * area_m2 * furniture,
            fabric_capacity_j_per_k=FABRIC_CAPACITY_J_PER_M2K * area_m2 * fabric,
            air_fabric_w_per_k=air_fabric,
            air_outdoor_w_per_k=air_outdoor,
            fabric_outdoor_w_per_k=fabric_outdoor,
        )

    @classmethod
    def varied(cls, area_m2: float, seed: object) -> RoomParameters:
        """A room of that area with the spread of one flat (seeded by `seed`)."""
        rng = random.Random(f"room-{seed}")
        return cls.nominal(
            area_m2,
            insulation=rng.uniform(0.85, 1.2),
            fabric=rng.uniform(0.85, 1.15),
            furniture=rng.uniform(0.85, 1.15),
            airtightness=rng.uniform(0.8, 1.3),
        )

    @property
    def conductance_w_per_k(self) -> float:
        """H: the steady heat loss per kelvin between the air and outdoors."""
        series = (
            self.air_fabric_w_per_k
            * self.fabric_outdoor_w_per_k
            / (self.air_fabric_w_per_k + self.fabric_outdoor_w_per_k)
        )
        return self.air_outdoor_w_per_k + series

    @property
    def heat_capacity_j_per_k(self) -> float:
        """Air, furniture and fabric together."""
        return self.air_capacity_j_per_k + self.fabric_capacity_j_per_k

    def steady_fabric(self, air_c: float, outdoor_c: float) -> float:
        """The fabric temperature of a room held at `air_c` for days."""
        h_af, h_fo = self.air_fabric_w_per_k, self.fabric_outdoor_w_per_k
        return (h_af * air_c + h_fo * outdoor_c) / (h_af + h_fo)

    def transition(self, seconds: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Exact step of `seconds`: x' = E (x - x*) + x*, with E = exp(A seconds).

        Returns E (row-major, 4 numbers) and the steady state's gains: the
        steady air and fabric temperatures per watt into the air and per
        kelvin of outdoor temperature (4 numbers).
        """
        c_a, c_f = self.air_capacity_j_per_k, self.fabric_capacity_j_per_k
        h_af, h_ao = self.air_fabric_w_per_k, self.air_outdoor_w_per_k
        h_fo = self.fabric_outdoor_w_per_k
        a11, a12 = -(h_af + h_ao) / c_a, h_af / c_a
        a21, a22 = h_af / c_f, -(h_af + h_fo) / c_f
        trace, det = a11 + a22, a11 * a22 - a12 * a21
        root = math.sqrt(max(trace * trace / 4 - det, 0.0))
        l1, l2 = trace / 2 + root, trace / 2 - root
        e1, e2 = math.exp(l1 * seconds), math.exp(l2 * seconds)
        # Sylvester's formula for two distinct real eigenvalues.
        k1, k2 = e1 / (l1 - l2), e2 / (l1 - l2)
        matrix = (
            k1 * (a11 - l2) - k2 * (a11 - l1),
            (k1 - k2) * a12,
            (k1 - k2) * a21,
            k1 * (a22 - l2) - k2 * (a22 - l1),
        )
        # Steady state: H matrix [[h_af + h_ao, -h_af], [-h_af, h_af + h_fo]].
        g11, g22 = h_af + h_ao, h_af + h_fo
        g_det = g11 * g22 - h_af * h_af
        per_watt = (g22 / g_det, h_af / g_det)
        per_kelvin = (
            (g22 * h_ao + h_af * h_fo) / g_det,
            (h_af * h_ao + g11 * h_fo) / g_det,
        )
        return matrix, (*per_watt, *per_kelvin)


@dataclass(kw_only=True)
class Room:
    """Temperatures and air of one room: `temperature` is the air's."""

    parameters: RoomParameters
    temperature: float
    fabric_temperature: float
    co2_ppm: float = 450.0
    _steps: dict[float, tuple[tuple[float, ...], tuple[float, ...]]] = field(
        default_factory=dict, repr=False
    )

    @classmethod
    def for_floor_area(
        cls,
        area_m2: float,
        temperature: float,
        *,
        fabric_temperature: float | None = None,
        seed: object = None,
    ) -> Room:
        """A room of that floor area whose air is at `temperature`.

        Its fabric is at `fabric_temperature`, by default halfway between the
        air and 20 C: the room of a lived-in flat found after a setback or an
        airing, not one left unheated for a week (give the fabric temperature
        for that). `seed` spreads the constants as one flat of a building.
        """
        parameters = (
            RoomParameters.nominal(area_m2)
            if seed is None
            else RoomParameters.varied(area_m2, seed)
        )
        if fabric_temperature is None:
            fabric_temperature = (temperature + 20.0) / 2
        return cls(
            parameters=parameters,
            temperature=temperature,
            fabric_temperature=fabric_temperature,
        )

    @property
    def heat_capacity_j_per_k(self) -> float:
        """Air, furniture and fabric together."""
        return self.parameters.heat_capacity_j_per_k

    @property
    def conductance_w_per_k(self) -> float:
        """The steady heat loss per kelvin to outdoors."""
        return self.parameters.conductance_w_per_k

    def step(
        self, seconds: float, power_w: float, outdoor_c: float, people: int
    ) -> None:
        """Advance `seconds` under `power_w` of heat (exact for constant inputs)."""
        if seconds <= 0:
            return
        cached = self._steps.get(seconds)
        if cached is None:
            if len(self._steps) > 64:
                self._steps.clear()
            cached = self._steps[seconds] = self.parameters.transition(seconds)
        (m11, m12, m21, m22), (wa, wf, ka, kf) = cached
        heat = power_w + PERSON_HEAT_W * people
        steady_air = wa * heat + ka * outdoor_c
        steady_fabric = wf * heat + kf * outdoor_c
        da = self.temperature - steady_air
        df = self.fabric_temperature - steady_fabric
        self.temperature = steady_air + m11 * da + m12 * df
        self.fabric_temperature = steady_fabric + m21 * da + m22 * df
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
