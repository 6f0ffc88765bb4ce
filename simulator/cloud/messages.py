"""The controller's reading of MQTT payloads (docs/protocol.md 6.3 and 6.6).

Written from the protocol, independently of the integration's client, so that
the two sides check each other. A payload that breaks the contract raises
`MessageError` with the offending field; the controller logs it and drops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import json
import math
from typing import Any

HVAC_MODES = frozenset({"heat", "off", "auto"})
ORIGINS = frozenset({"user", "automation", "schedule", "voice", "service", "device"})
MAX_POWER_W = 500.0


class MessageError(ValueError):
    """A payload that does not follow the protocol."""


def decode(payload: bytes | str) -> dict[str, Any]:
    """A JSON object, or `MessageError`."""
    try:
        data = json.loads(payload, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as err:
        raise MessageError(f"not JSON: {err}") from err
    if not isinstance(data, dict):
        raise MessageError("not a JSON object")
    return data


def _reject_constant(name: str) -> float:
    raise MessageError(f"{name} is not allowed")


def _number(data: dict[str, Any], key: str, low: float, high: float) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MessageError(f"{key}: a number is required")
    if not math.isfinite(value) or not low <= value <= high:
        raise MessageError(f"{key}: {value} is outside {low}..{high}")
    return float(value)


def _time(data: dict[str, Any], key: str) -> datetime:
    value = data.get(key)
    if not isinstance(value, str) or not value.endswith("Z"):
        raise MessageError(f"{key}: a UTC timestamp is required")
    try:
        return datetime.fromisoformat(value)
    except ValueError as err:
        raise MessageError(f"{key}: {err}") from err


def _choice(data: dict[str, Any], key: str, allowed: frozenset[str]) -> str:
    value = data.get(key)
    if value not in allowed:
        raise MessageError(f"{key}: {value!r} is not one of {sorted(allowed)}")
    return str(value)


@dataclass(frozen=True, kw_only=True)
class Setpoint:
    """What the homeowner wants for one Q.rad (6.3)."""

    serial: str
    target_temperature: float
    hvac_mode: str
    preset: str
    power_limit_w: float
    origin: str
    timestamp: datetime
    seq: int

    @classmethod
    def parse(cls, payload: bytes | str, topic_serial: str) -> Setpoint:
        """Validate a setpoint published on `topic_serial`'s topic."""
        data = decode(payload)
        if data.get("serial") != topic_serial:
            raise MessageError("serial: does not match the topic")
        seq = data.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise MessageError("seq: a positive integer is required")
        preset = data.get("preset")
        if not isinstance(preset, str) or not 1 <= len(preset) <= 32:
            raise MessageError("preset: a short string is required")
        limit = data.get("power_limit_w", MAX_POWER_W)
        return cls(
            serial=topic_serial,
            target_temperature=_number(data, "target_temperature", 5.0, 30.0),
            hvac_mode=_choice(data, "hvac_mode", HVAC_MODES),
            preset=preset,
            power_limit_w=_number({"power_limit_w": limit}, "power_limit_w", 0, 500),
            origin=_choice(data, "origin", ORIGINS),
            timestamp=_time(data, "timestamp"),
            seq=seq,
        )


@dataclass(frozen=True, kw_only=True)
class Telemetry:
    """What a Q.rad reports about itself (6.6)."""

    serial: str
    room_temperature: float
    target_temperature: float
    hvac_mode: str
    power_w: float
    power_limit_w: float
    energy_kwh: float
    compute_tflop: float
    control: str
    timestamp: datetime
    # The controller's loop state, echoed from the last control message (6.5).
    loop_state: dict[str, Any] | None = None

    @classmethod
    def parse(cls, payload: bytes | str, topic_serial: str) -> Telemetry:
        """Validate telemetry published on `topic_serial`'s topic."""
        data = decode(payload)
        if data.get("serial") != topic_serial:
            raise MessageError("serial: does not match the topic")
        return cls(
            serial=topic_serial,
            room_temperature=_number(data, "room_temperature", -20.0, 50.0),
            target_temperature=_number(data, "target_temperature", 5.0, 30.0),
            hvac_mode=_choice(data, "hvac_mode", HVAC_MODES),
            power_w=_number(data, "power_w", 0.0, 520.0),
            power_limit_w=_number(data, "power_limit_w", 0.0, 500.0),
            energy_kwh=_number(data, "energy_kwh", 0.0, 1e12),
            compute_tflop=_number(data, "compute_tflop", 0.0, 1e18),
            control=_choice(data, "control", frozenset({"cloud", "local"})),
            timestamp=_time(data, "timestamp"),
            loop_state=state
            if isinstance(state := data.get("loop_state"), dict)
            else None,
        )
