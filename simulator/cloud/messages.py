"""The controller's reading of MQTT payloads (docs/protocol.md 6.3, 6.6 and 6.11).

Written from the protocol, independently of the integration's client, so that
the two sides check each other. A payload that breaks the contract raises
`MessageError` with the offending field; the controller logs it and drops it.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
import itertools
import json
import math
from typing import Any

HVAC_MODES = frozenset({"heat", "off", "auto"})
ORIGINS = frozenset({"user", "automation", "schedule", "device"})
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


# A plan's bounds (6.11).
MAX_PLAN_BYTES = 8192
MAX_PLAN_CHANGES = 96
MAX_PLAN_VALIDITY = timedelta(days=7)


class PlanRefusedError(MessageError):
    """A plan refused with one of 6.11's reasons, said back in the status."""

    def __init__(self, reason: str, detail: str) -> None:
        """`reason` is the protocol's enum value; `detail` says what was wrong."""
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class PlannedChange:
    """From `at` on, the target is `target_temperature` (6.11)."""

    at: datetime
    target_temperature: float
    preset: str | None


@dataclass(frozen=True, kw_only=True)
class Plan:
    """The upcoming changes of one Q.rad's target (6.11)."""

    serial: str
    seq: int
    source: str
    issued_at: datetime
    valid_until: datetime
    changes: tuple[PlannedChange, ...]

    @classmethod
    def parse(cls, payload: bytes | str, topic_serial: str, now: datetime) -> Plan:
        """Validate a plan published on `topic_serial`'s topic and received at `now`."""
        if (
            len(payload if isinstance(payload, bytes) else payload.encode())
            > MAX_PLAN_BYTES
        ):
            raise PlanRefusedError("too_large", f"over {MAX_PLAN_BYTES} bytes")
        try:
            plan = cls._read(decode(payload), topic_serial)
        except PlanRefusedError:
            raise
        except MessageError as err:
            raise PlanRefusedError("malformed", str(err)) from err
        if plan.valid_until <= now:
            raise PlanRefusedError(
                "expired", f"valid until {plan.valid_until.isoformat()}"
            )
        return plan

    @classmethod
    def _read(cls, data: dict[str, Any], topic_serial: str) -> Plan:
        if data.get("serial") != topic_serial:
            raise MessageError("serial: does not match the topic")
        seq = data.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise MessageError("seq: a positive integer is required")
        source = data.get("source")
        if not isinstance(source, str) or not 1 <= len(source) <= 32:
            raise MessageError("source: a short string is required")
        issued_at, valid_until = _time(data, "issued_at"), _time(data, "valid_until")
        if not issued_at < valid_until <= issued_at + MAX_PLAN_VALIDITY:
            raise MessageError("valid_until: after issued_at, within 7 days of it")
        items = data.get("changes")
        if not isinstance(items, list):
            raise MessageError("changes: a list is required")
        if len(items) > MAX_PLAN_CHANGES:
            raise PlanRefusedError(
                "too_large", f"{len(items)} changes, over {MAX_PLAN_CHANGES}"
            )
        changes = tuple(_change(item, index) for index, item in enumerate(items))
        _check_times(changes, issued_at, valid_until)
        return cls(
            serial=topic_serial,
            seq=seq,
            source=source,
            issued_at=issued_at,
            valid_until=valid_until,
            changes=changes,
        )

    def on_clock(self, convert: Callable[[datetime], datetime]) -> Plan:
        """The same plan with every time converted (wall clock to an emulated one)."""
        return dataclasses.replace(
            self,
            issued_at=convert(self.issued_at),
            valid_until=convert(self.valid_until),
            changes=tuple(
                dataclasses.replace(change, at=convert(change.at))
                for change in self.changes
            ),
        )

    def upcoming(self, moment: datetime) -> tuple[PlannedChange, ...]:
        """The changes still to come at `moment` (none once the plan is void)."""
        if moment >= self.valid_until:
            return ()
        return tuple(change for change in self.changes if change.at > moment)


def _check_times(
    changes: tuple[PlannedChange, ...], issued_at: datetime, valid_until: datetime
) -> None:
    for before, after in itertools.pairwise(changes):
        if after.at <= before.at:
            raise PlanRefusedError(
                "out_of_order", f"{after.at.isoformat()} after {before.at.isoformat()}"
            )
    for change in changes:
        if not issued_at <= change.at < valid_until:
            raise PlanRefusedError(
                "past",
                f"a change at {change.at.isoformat()} outside the plan's validity",
            )


def _change(item: object, index: int) -> PlannedChange:
    if not isinstance(item, dict):
        raise MessageError(f"changes[{index}]: an object is required")
    preset = item.get("preset")
    if preset is not None and (
        not isinstance(preset, str) or not 1 <= len(preset) <= 32
    ):
        raise MessageError(f"changes[{index}].preset: a short string is required")
    try:
        return PlannedChange(
            at=_time(item, "at"),
            target_temperature=_number(item, "target_temperature", 5.0, 30.0),
            preset=preset,
        )
    except MessageError as err:
        raise MessageError(f"changes[{index}].{err}") from err
