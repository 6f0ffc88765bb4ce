"""One emulated Q.rad: its sections put together, its clock, the room it heats.

Each section of docs/protocol.md owns its state and validates its own writes
(thermostat.py, speaker.py, wifi.py, charger.py, cloud_control.py; household.py
holds the people of the room). The unit keeps what spans them: the clock, the
physics stepped under the power the cloud or the local thermostat asks for, the
meters, and the whole state object of section 4 (`wire_state()`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
import math
import random
from typing import Any
import uuid

from simulator.clock import Clock
from simulator.identity import Identity

from .charger import Charger
from .cloud_control import CloudControl
from .household import Household
from .physics import (
    GFLOPS_PER_W,
    MAX_POWER_W,
    Room,
    daylight_lux,
    outdoor_temperature,
    room_use,
)
from .speaker import Speaker
from .thermostat import Thermostat
from .validation import check_fields, number, text
from .wifi import AccessPoint, WifiClient

API_VERSION = 1
# An open window: the air of the room is exchanged with outdoor air about ten
# times an hour (a casement opened wide; a tilted one is nearer two). At
# 0.34 Wh/(m3 K) and 2.5 m of height, that is 8.5 W/K per m2 of floor: a
# 20 m2 room loses 170 W/K more, and its air, at 20 C over 0 C outside, first
# falls by about half a degree a minute. Integrated in steps of at most
# WINDOW_STEP_S so that the loss follows the falling temperature.
WINDOW_AIR_CHANGES_PER_H = 10.0
ROOM_HEIGHT_M = 2.5
AIR_HEAT_WH_PER_M3K = 0.34
WINDOW_STEP_S = 30.0


@dataclass(kw_only=True)
class QradUnitModel:
    """Everything one emulated Q.rad knows and does."""

    identity: Identity
    clock: Clock
    seed: int
    name: str = ""
    boot_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    booted_at: float = 0.0
    power_w: float = 0.0
    power_limit_w: float = MAX_POWER_W
    energy_kwh: float = 0.0
    compute_tflop: float = 0.0
    # Whether the last step was under cloud control (for a bumpless fallback).
    cloud_in_charge: bool = False
    thermostat: Thermostat = field(default_factory=Thermostat)
    cloud: CloudControl = field(default_factory=CloudControl)
    charger: Charger = field(default_factory=Charger)
    speaker: Speaker = field(init=False)
    wifi: AccessPoint = field(init=False)
    household: Household = field(init=False)
    room: Room = field(init=False)
    # The unit's own draws: its room, its daylight, its household's life.
    rng: random.Random = field(init=False)
    daylight_share: float = field(init=False)

    def __post_init__(self) -> None:
        """Start in a room a few degrees below the comfort temperature."""
        serial = self.identity.serial
        self.rng = random.Random(f"unit-{self.seed}-{serial}")
        self.name = self.name or self.identity.name
        start = round(self.rng.uniform(16.0, 19.0), 1)
        self.room = Room.for_floor_area(self.identity.floor_area_m2, start)
        # Rooms differ as real ones do: what they are for, when people are in
        # them (drawn per unit), and how much daylight their windows let in.
        self.daylight_share = round(self.rng.uniform(0.35, 1.0), 2)
        self.household = Household(
            use=room_use(self.identity.name),
            people_key=f"{self.seed}-{serial}",
            rng=self.rng,
        )
        self.speaker = Speaker(serial=serial)
        self.wifi = AccessPoint(ssid=f"Qrad-{serial[-6:]}", rng=self.rng)
        self.booted_at = self.clock.monotonic()

    # Simulation.

    @property
    def people(self) -> int:
        """People in the room now."""
        return self.household.people(self.clock.now())

    @property
    def control(self) -> str:
        """`cloud` while a control message is valid, else `local`."""
        return "cloud" if self.cloud.in_charge(self.clock.now()) else "local"

    @property
    def gflops(self) -> float:
        """Compute delivered now: the controller's figure while it is in charge."""
        if self.control == "cloud" and self.cloud.gflops is not None:
            return self.cloud.gflops * min(
                self.power_w / max(self.cloud.power_w or 0, 1e-9), 1.0
            )
        return self.power_w * GFLOPS_PER_W

    def step(self, seconds: float) -> None:
        """Advance the simulation by `seconds` of simulated time."""
        now = self.clock.now()
        self.household.live(seconds, now, self.wifi, self.charger)
        self.thermostat.step(now)
        if self.control == "cloud" and self.cloud.power_w is not None:
            power = min(self.cloud.power_w, self.power_limit_w)
            self.cloud_in_charge = True
        else:
            if self.cloud_in_charge:
                self.cloud_in_charge = False
                self.thermostat.take_over(
                    self.cloud.power_w, self.room.temperature, self.power_limit_w
                )
            power = self.thermostat.local_power(
                self.room.temperature, seconds, self.power_limit_w
            )
        self.power_w = power
        self._heat_room(seconds, power, now)
        self.energy_kwh += power * seconds / 3_600_000.0
        self.compute_tflop += self.gflops * seconds / 1000.0
        self.speaker.advance(seconds)

    def _heat_room(self, seconds: float, power: float, now: datetime) -> None:
        """Advance the room under `power`, and an open window's extra loss."""
        outdoor = outdoor_temperature(now)
        if not self.household.window_open(now):
            self.room.step(seconds, power, outdoor, self.people)
            return
        conductance = (
            AIR_HEAT_WH_PER_M3K
            * WINDOW_AIR_CHANGES_PER_H
            * ROOM_HEIGHT_M
            * self.identity.floor_area_m2
        )
        chunks = max(1, math.ceil(seconds / WINDOW_STEP_S))
        for _ in range(chunks):
            loss = conductance * (self.room.temperature - outdoor)
            self.room.step(seconds / chunks, power - loss, outdoor, self.people)

    def reboot(self) -> None:
        """A new boot: new boot id, uptime from zero, state kept."""
        self.boot_id = str(uuid.uuid4())
        self.booted_at = self.clock.monotonic()

    # Writes (docs/protocol.md, section 3.2): the thermostat's at the unit's
    # time, and those of the sections the unit keeps.

    def patch_thermostat(self, body: Mapping[str, Any]) -> None:
        """`PATCH /thermostat`: target, mode, preset and preset temperatures."""
        self.thermostat.patch(body, self.clock.now())

    def post_boost(self, body: Mapping[str, Any]) -> None:
        """`POST /thermostat/boost`."""
        self.thermostat.post_boost(body, self.clock.now())

    def patch_power(self, body: Mapping[str, Any]) -> None:
        """The cap on any power target, the cloud's and the local thermostat's."""
        check_fields(body, {"power_limit_w"})
        self.power_limit_w = number(body, "power_limit_w", 0.0, MAX_POWER_W)

    def patch_device(self, body: Mapping[str, Any]) -> None:
        """Rename the unit."""
        check_fields(body, {"name"})
        self.name = text(body, "name", 1, 64)

    # The state object (docs/protocol.md, section 4).

    def wire_state(self) -> dict[str, Any]:
        """The full state, as served and pushed."""
        now = self.clock.now()
        control = self.control
        return {
            "device": {
                "serial": self.identity.serial,
                "name": self.name,
                "model": self.identity.model,
                "firmware": self.identity.firmware,
                "api_version": API_VERSION,
                "mac": self.identity.mac,
                "boot_id": self.boot_id,
                "uptime_s": int(self.clock.monotonic() - self.booted_at),
                "wifi_rssi_dbm": -48,
            },
            "thermostat": self.thermostat.wire(self.power_w, control),
            "sensors": self._sensors(now),
            "power": {
                "power_w": round(self.power_w, 1),
                "power_target_w": round(self.power_w, 1),
                "power_limit_w": self.power_limit_w,
            },
            "compute": {
                "gflops": round(self.gflops, 1),
                "jobs_running": self.cloud.jobs if control == "cloud" else 0,
                "load": round(self.power_w / MAX_POWER_W, 3),
            },
            "meters": {
                "energy_kwh": round(self.energy_kwh, 4),
                "compute_tflop": round(self.compute_tflop, 1),
            },
            "speaker": self.speaker.wire(now),
            "wifi": self.wifi.wire(),
            "charger": self.charger.wire(),
            "cloud": self.cloud.wire(self.identity.account),
        }

    def _sensors(self, now: datetime) -> dict[str, Any]:
        """What the unit's sensors read of the room, its people and its daylight."""
        people = self.people
        temperature = self.room.temperature
        humidity = 55.0 - 1.5 * (temperature - 15.0) + 4.0 * people
        noise = 28.0 + 9.0 * people + self.power_w / 100.0
        return {
            "temperature": round(temperature, 1),
            "humidity": round(min(max(humidity, 15.0), 90.0), 1),
            "co2_ppm": int(min(max(self.room.co2_ppm, 400.0), 5000.0)),
            "voc_index": min(max(int(90 + 35 * people), 1), 500),
            "illuminance_lx": round(
                daylight_lux(now, self.daylight_share) + 150.0 * bool(people), 1
            ),
            "noise_db": round(min(noise, 120.0), 1),
        }

    def patch_wifi(self, body: Mapping[str, Any]) -> None:
        """Access point on/off, SSID, passphrase."""
        self.wifi.patch(body)

    def play(self, body: Mapping[str, Any]) -> None:
        """Play a URL, or announce it over what plays."""
        self.speaker.play(body)

    def people_in(self, moment: datetime) -> int:
        """People in the room at `moment`, as its use and its own draws have it."""
        return self.household.people_in(moment)

    def client_join(
        self, mac: str | None = None, name: str | None = None
    ) -> WifiClient | None:
        """A device joins the access point now."""
        return self.wifi.join(mac, name, self.clock.now())

    def client_leave(self, mac: str) -> bool:
        """A device leaves the access point."""
        return self.wifi.leave(mac)
