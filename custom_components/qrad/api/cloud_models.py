"""Typed messages of the cloud link (docs/protocol.md 6.3, 6.4, 6.11)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
import itertools
import json
import math
from typing import Any

from .exceptions import QradInvalidResponseError
from .models import (
    DEVICE_SERIAL_PATTERN,
    HvacMode,
    Preset,
    WireModel,
    enum,
    integer,
    iso_time,
    items,
    number,
    text,
    tolerant,
)


class Origin(StrEnum):
    """Who made a setpoint change (6.3).

    A spoken request reaches an entity as a person's service call, like a tap on
    the dashboard: Home Assistant tells them apart nowhere, so both are USER.
    """

    USER = "user"
    AUTOMATION = "automation"
    SCHEDULE = "schedule"
    DEVICE = "device"


class PlanSource(StrEnum):
    """Where a plan comes from (6.11)."""

    SCHEDULE = "schedule"
    SERVICE = "service"
    DEVICE = "device"


# A plan's bounds (6.11).
MAX_PLAN_CHANGES = 96
MAX_PLAN_BYTES = 8192
MAX_PLAN_VALIDITY = timedelta(days=7)


class HeatSource(StrEnum):
    """Why a room gets the heat it gets."""

    COMPUTE = "compute"
    FILLER = "filler"
    LOCAL_FALLBACK = "local_fallback"
    POWER_LIMITED = "power_limited"
    OFF = "off"
    UNKNOWN = "unknown"


def decode_json(payload: bytes | str) -> object:
    """JSON without NaN or Infinity, or `QradInvalidResponseError`."""

    def reject(name: str) -> float:
        raise QradInvalidResponseError(f"{name} is not valid JSON")

    try:
        return json.loads(payload, parse_constant=reject)
    except (ValueError, UnicodeDecodeError) as err:
        raise QradInvalidResponseError(f"not valid JSON: {err}") from err


def _wire_time(moment: datetime) -> str:
    """A plan's times: UTC, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True)
class Heating:
    """What a setpoint asks of a Q.rad's heating, before the outbox numbers it.

    One value from the coordinator through the account and the cloud client to
    the outbox, which stamps it into a Setpoint.
    """

    target_temperature: float
    hvac_mode: HvacMode
    preset: Preset
    power_limit_w: float


@dataclass(frozen=True, kw_only=True)
class Setpoint(WireModel, section="setpoint"):
    """One heating setpoint for the controller; `seq` grows per Q.rad.

    `from_dict` reads one back (retained, or from the persisted outbox).
    """

    serial: str = field(metadata=text(10, pattern=DEVICE_SERIAL_PATTERN))
    target_temperature: float = field(metadata=number(5.0, 30.0))
    hvac_mode: HvacMode = field(metadata=enum(HvacMode))
    preset: Preset = field(metadata=enum(Preset))
    power_limit_w: float = field(metadata=number(0.0, 500.0))
    origin: Origin = field(metadata=enum(Origin))
    timestamp: datetime = field(metadata=iso_time())
    seq: int = field(metadata=integer(1))

    def __post_init__(self) -> None:
        """Refuse what the controller would refuse, before it leaves."""
        if not DEVICE_SERIAL_PATTERN.match(self.serial):
            raise ValueError(f"not a serial: {self.serial!r}")
        if not (
            math.isfinite(self.target_temperature)
            and 5.0 <= self.target_temperature <= 30.0
        ):
            raise ValueError("target_temperature must be within 5-30 °C")
        if not (math.isfinite(self.power_limit_w) and 0 <= self.power_limit_w <= 500):
            raise ValueError("power_limit_w must be within 0-500 W")
        if self.seq < 1:
            raise ValueError("seq must be positive")

    @property
    def heating(self) -> Heating:
        """What it asks of the Q.rad's heating."""
        return Heating(
            target_temperature=self.target_temperature,
            hvac_mode=self.hvac_mode,
            preset=self.preset,
            power_limit_w=self.power_limit_w,
        )

    def payload(self) -> str:
        """The wire form of 6.3 (the same text for equal setpoints)."""
        return json.dumps(
            {
                "serial": self.serial,
                "target_temperature": float(self.target_temperature),
                "hvac_mode": str(self.hvac_mode),
                "preset": str(self.preset),
                "power_limit_w": float(self.power_limit_w),
                "origin": str(self.origin),
                "timestamp": self.timestamp.astimezone(UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "seq": self.seq,
            }
        )


@dataclass(frozen=True)
class PlannedChange(WireModel, section="plan.changes[{index}]"):
    """From `at` on, the Q.rad's target is `target_temperature` (6.11)."""

    at: datetime = field(metadata=iso_time(_wire_time))
    target_temperature: float = field(metadata=number(5.0, 30.0))
    # Optional, for display; a preset this client does not know reads as None.
    preset: Preset | None = field(default=None, metadata=tolerant(Preset))

    def __post_serialize__(self, wire: dict[str, Any]) -> dict[str, Any]:
        """No `preset` key for a change without one."""
        if self.preset is None:
            del wire["preset"]
        return wire


@dataclass(frozen=True, kw_only=True)
class Plan(WireModel, section="plan"):
    """The upcoming target changes of one Q.rad; `seq` grows per Q.rad, apart.

    `to_dict` is the message as JSON values (also how the outbox keeps it);
    `from_dict` reads one back (retained, or from the persisted outbox).
    """

    serial: str = field(metadata=text(10, pattern=DEVICE_SERIAL_PATTERN))
    seq: int = field(metadata=integer(1))
    source: PlanSource = field(metadata=enum(PlanSource))
    issued_at: datetime = field(metadata=iso_time(_wire_time))
    valid_until: datetime = field(metadata=iso_time(_wire_time))
    changes: tuple[PlannedChange, ...] = field(
        metadata=items(PlannedChange, MAX_PLAN_CHANGES, into=tuple)
    )

    def __post_init__(self) -> None:
        """Refuse what the controller would refuse (6.11), before it leaves."""
        if not DEVICE_SERIAL_PATTERN.match(self.serial):
            raise ValueError(f"not a serial: {self.serial!r}")
        if self.seq < 1:
            raise ValueError("seq must be positive")
        if not self.issued_at < self.valid_until <= self.issued_at + MAX_PLAN_VALIDITY:
            raise ValueError("valid_until must be after issued_at, within 7 days")
        if len(self.changes) > MAX_PLAN_CHANGES:
            raise ValueError(f"at most {MAX_PLAN_CHANGES} changes")
        moments = [change.at for change in self.changes]
        if any(later <= earlier for earlier, later in itertools.pairwise(moments)):
            raise ValueError("changes must be in time order, one per moment")
        for change in self.changes:
            if not self.issued_at <= change.at < self.valid_until:
                raise ValueError("every change must fall within the plan's validity")
            if not (
                math.isfinite(change.target_temperature)
                and 5.0 <= change.target_temperature <= 30.0
            ):
                raise ValueError("target_temperature must be within 5-30 °C")
        if len(self.payload().encode()) > MAX_PLAN_BYTES:
            raise ValueError(f"a plan is at most {MAX_PLAN_BYTES} bytes")

    def payload(self) -> str:
        """The wire form of 6.11 (the same text for equal plans)."""
        return json.dumps(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class ComputeStatus(WireModel, section="status"):
    """What the controller does with one Q.rad (6.4); unknown heat sources read."""

    serial: str = field(metadata=text(10, pattern=DEVICE_SERIAL_PATTERN))
    setpoint_seq: int = field(metadata=integer(0))
    power_target_w: float = field(metadata=number(0.0, 500.0))
    jobs_running: int = field(metadata=integer(0, 1000))
    gflops: float = field(metadata=number(0.0, 1e6))
    heat_share: float = field(metadata=number(0.0, 1.0))
    heat_source: HeatSource = field(metadata=tolerant(HeatSource, HeatSource.UNKNOWN))
    energy_kwh: float = field(metadata=number(0.0))
    reimbursed_eur: float = field(metadata=number(0.0))
    room_temperature: float | None = field(metadata=number(-20.0))
    updated_at: datetime = field(metadata=iso_time())
    # The planned change the controller heats ahead for now (6.11, additive).
    preheating_for: datetime | None = field(default=None, metadata=iso_time())
