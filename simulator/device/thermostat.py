"""The thermostat section of an emulated Q.rad: target, mode, presets, boost.

It owns the settings the owner writes (docs/protocol.md 3.2, `PATCH /thermostat`
and `POST /thermostat/boost`), the day schedule of `auto`, and the local PI loop
that heats to the target whenever no cloud control is valid (6.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from simulator.clock import iso

from .physics import LocalThermostat
from .validation import ApiError, check_fields, invalid, number

PRESETS = ("comfort", "eco", "away", "frost_protection")
PRESET_NAMES = (*PRESETS, "none", "boost")
HVAC_MODES = ("heat", "off", "auto")
FROST_GUARD_C = 5.0
BOOST_MINUTES = 60
BOOST_DELTA_C = 2.0


@dataclass(kw_only=True)
class Thermostat:
    """What the unit heats to, and the rules that change it."""

    target: float = 20.0
    hvac_mode: str = "heat"
    preset: str = "comfort"
    preset_temperatures: dict[str, float] = field(
        default_factory=lambda: {
            "comfort": 20.0,
            "eco": 17.5,
            "away": 15.0,
            "frost_protection": 7.0,
        }
    )
    boost_until: datetime | None = None
    # The target and preset a running boost gives back when it ends.
    boost_return: tuple[float, str] | None = None
    # The unit's own loop, heating while the cloud is not in charge.
    local: LocalThermostat = field(default_factory=LocalThermostat)

    def effective_target(self) -> float:
        """What the unit heats to: off still guards against frost."""
        if self.hvac_mode == "off":
            return FROST_GUARD_C
        return self.target

    def local_power(self, temperature: float, seconds: float, limit_w: float) -> float:
        """The local loop's power for the next `seconds` in a room at `temperature`."""
        return self.local.power(self.effective_target(), temperature, seconds, limit_w)

    def take_over(
        self, cloud_power_w: float | None, temperature: float, limit_w: float
    ) -> None:
        """Bumpless transfer: the local loop goes on from the cloud's power.

        Its integral starts where the cloud's last power leaves it, so that a
        room the cloud held at its target stays there, instead of cooling until
        a fresh integral has wound up.
        """
        if self.hvac_mode == "off" or cloud_power_w is None:
            self.local.reset()
            return
        error = self.effective_target() - temperature
        carried = cloud_power_w - self.local.gain_w_per_k * error
        self.local.integral_w = min(max(carried, 0.0), limit_w)

    def step(self, now: datetime) -> None:
        """End a boost that is over, and follow the day schedule in `auto`."""
        if (
            self.boost_until is not None
            and now >= self.boost_until
            and self.boost_return
        ):
            self.target, self.preset = self.boost_return
            self.boost_until = None
            self.boost_return = None
        # In auto mode: comfort from 06:00 to 22:00, eco otherwise.
        if self.hvac_mode != "auto" or self.boost_until is not None:
            return
        preset = "comfort" if 6 <= now.hour < 22 else "eco"
        self.preset = preset
        self.target = self.preset_temperatures[preset]

    # Writes (docs/protocol.md, section 3.2).

    def patch(self, body: Mapping[str, Any], now: datetime) -> None:
        """Target, mode, preset and preset temperatures, all or nothing."""
        allowed = {"target_temperature", "hvac_mode", "preset", "preset_temperatures"}
        check_fields(body, allowed)
        if "target_temperature" in body and "preset" in body:
            message = "give target_temperature or preset, not both"
            raise ApiError(400, "invalid_value", message, "preset")
        target = None
        if "target_temperature" in body:
            target = number(body, "target_temperature", 5.0, 30.0, 0.5)
        mode = body.get("hvac_mode")
        if "hvac_mode" in body and mode not in HVAC_MODES:
            raise invalid("hvac_mode", f"must be one of {', '.join(HVAC_MODES)}")
        preset = body.get("preset")
        if "preset" in body and preset not in PRESET_NAMES:
            raise invalid("preset", f"must be one of {', '.join(PRESET_NAMES)}")
        self.preset_temperatures = self._preset_temperatures(body)
        if mode is not None:
            self.hvac_mode = mode
            if mode == "off":
                self.local.reset()
        self._set_target_or_preset(target, preset, now)

    def _preset_temperatures(self, body: Mapping[str, Any]) -> dict[str, float]:
        """The preset temperatures after a write (validated, not yet applied)."""
        temperatures = dict(self.preset_temperatures)
        if "preset_temperatures" not in body:
            return temperatures
        given = body["preset_temperatures"]
        if not isinstance(given, Mapping) or not given:
            raise invalid("preset_temperatures", "must be an object of temperatures")
        for name in given:
            if name not in PRESETS:
                message = f"unknown preset {name!r}"
                raise ApiError(400, "unknown_field", message, "preset_temperatures")
            temperatures[name] = number(given, name, 5.0, 30.0, 0.5)
        return temperatures

    def _set_target_or_preset(
        self, target: float | None, preset: str | None, now: datetime
    ) -> None:
        """A target by hand, a preset, or the active preset's new temperature."""
        if target is not None:
            self._cancel_boost()
            self.target, self.preset = target, "none"
        elif preset == "boost":
            self._boost(BOOST_MINUTES, BOOST_DELTA_C, now)
        elif preset == "none":
            self._cancel_boost()
            self.preset = "none"
        elif preset is not None:
            self._cancel_boost()
            self.preset, self.target = preset, self.preset_temperatures[preset]
        elif self.preset in PRESETS:
            self.target = self.preset_temperatures[self.preset]

    def post_boost(self, body: Mapping[str, Any], now: datetime) -> None:
        """`POST /thermostat/boost`."""
        check_fields(body, {"minutes", "delta"})
        if "minutes" not in body:
            raise invalid("minutes", "is required")
        minutes = number(body, "minutes", 1, 240)
        if minutes != int(minutes):
            raise invalid("minutes", "must be a whole number")
        delta = (
            number(body, "delta", 0.5, 5.0, 0.5) if "delta" in body else BOOST_DELTA_C
        )
        self._boost(minutes, delta, now)

    def _boost(self, minutes: float, delta: float, now: datetime) -> None:
        """Raise the target by delta for a while, then go back."""
        if self.boost_return is None:
            self.boost_return = (self.target, self.preset)
        base = self.boost_return[0]
        self.target = min(base + delta, 30.0)
        self.preset = "boost"
        self.boost_until = now + timedelta(minutes=minutes)

    def _cancel_boost(self) -> None:
        self.boost_until = None
        self.boost_return = None

    def wire(self, power_w: float, control: str) -> dict[str, Any]:
        """`thermostat` of the state object, while the unit draws `power_w`."""
        heating = self.hvac_mode != "off" and power_w > 1.0
        return {
            "target_temperature": self.target,
            "min_temperature": 5.0,
            "max_temperature": 30.0,
            "step": 0.5,
            "hvac_mode": self.hvac_mode,
            "preset": self.preset,
            "preset_temperatures": dict(self.preset_temperatures),
            "boost_until": iso(self.boost_until) if self.boost_until else None,
            "hvac_action": "off"
            if self.hvac_mode == "off"
            else ("heating" if heating else "idle"),
            "control": control,
        }
