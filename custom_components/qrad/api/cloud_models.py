"""Typed messages of the cloud link (docs/protocol.md 6.3, 6.4, 6.11)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
import itertools
import json
import math
import re
from typing import Self

from .exceptions import QradInvalidResponseError
from .models import HvacMode, Preset, _Model, _Reader

# A serial as the cloud's topics carry it (section 6): wider than a Q.rad's
# own, which the local API checks (models.DEVICE_SERIAL_PATTERN).
TOPIC_SERIAL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,31}\Z")


class Origin(StrEnum):
    """Who made a setpoint change."""

    USER = "user"
    AUTOMATION = "automation"
    SCHEDULE = "schedule"
    VOICE = "voice"
    SERVICE = "service"
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
class Setpoint(_Model):
    """One heating setpoint for the controller; `seq` grows per Q.rad."""

    serial: str
    target_temperature: float
    hvac_mode: HvacMode
    preset: Preset
    power_limit_w: float
    origin: Origin
    timestamp: datetime
    seq: int

    def __post_init__(self) -> None:
        """Refuse what the controller would refuse, before it leaves."""
        if not TOPIC_SERIAL_PATTERN.match(self.serial):
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

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """A setpoint read back (retained, or from the persisted outbox)."""
        read = _Reader(data, "setpoint")
        try:
            return cls(
                serial=read.text("serial", max_length=32, pattern=TOPIC_SERIAL_PATTERN),
                target_temperature=read.number("target_temperature", 5.0, 30.0),
                hvac_mode=read.enum("hvac_mode", HvacMode),
                preset=read.enum("preset", Preset),
                power_limit_w=read.number("power_limit_w", 0.0, 500.0),
                origin=read.enum("origin", Origin),
                timestamp=read.time("timestamp"),
                seq=read.integer("seq", 1),
            )
        except ValueError as err:
            raise QradInvalidResponseError(str(err)) from err


def _wire_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class PlannedChange:
    """From `at` on, the Q.rad's target is `target_temperature` (6.11)."""

    at: datetime
    target_temperature: float
    preset: Preset | None = None


@dataclass(frozen=True, kw_only=True)
class Plan:
    """The upcoming target changes of one Q.rad; `seq` grows per Q.rad, apart."""

    serial: str
    seq: int
    source: PlanSource
    issued_at: datetime
    valid_until: datetime
    changes: tuple[PlannedChange, ...]

    def __post_init__(self) -> None:
        """Refuse what the controller would refuse (6.11), before it leaves."""
        if not TOPIC_SERIAL_PATTERN.match(self.serial):
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

    def to_dict(self) -> dict[str, object]:
        """The message as JSON values (also how the outbox keeps it)."""
        return {
            "serial": self.serial,
            "seq": self.seq,
            "source": str(self.source),
            "issued_at": _wire_time(self.issued_at),
            "valid_until": _wire_time(self.valid_until),
            "changes": [
                {
                    "at": _wire_time(change.at),
                    "target_temperature": change.target_temperature,
                }
                | ({"preset": str(change.preset)} if change.preset is not None else {})
                for change in self.changes
            ],
        }

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """A plan read back (retained, or from the persisted outbox)."""
        read = _Reader(data, "plan")
        changes = []
        for index, item in enumerate(read.items("changes", MAX_PLAN_CHANGES)):
            change = _Reader(item, f"plan.changes[{index}]")
            preset = change.get("preset")
            changes.append(
                PlannedChange(
                    at=change.time("at"),
                    target_temperature=change.number("target_temperature", 5.0, 30.0),
                    preset=Preset(preset) if preset in set(Preset) else None,
                )
            )
        try:
            return cls(
                serial=read.text("serial", max_length=32, pattern=TOPIC_SERIAL_PATTERN),
                seq=read.integer("seq", 1),
                source=read.enum("source", PlanSource),
                issued_at=read.time("issued_at"),
                valid_until=read.time("valid_until"),
                changes=tuple(changes),
            )
        except ValueError as err:
            raise QradInvalidResponseError(str(err)) from err


@dataclass(frozen=True, kw_only=True)
class ComputeStatus(_Model):
    """What the controller does with one Q.rad (6.4)."""

    serial: str
    setpoint_seq: int
    power_target_w: float
    jobs_running: int
    gflops: float
    heat_share: float
    heat_source: HeatSource
    energy_kwh: float
    reimbursed_eur: float
    room_temperature: float | None
    updated_at: datetime
    # The planned change the controller heats ahead for now (6.11, additive).
    preheating_for: datetime | None = None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Validate a status message; unknown heat sources are tolerated."""
        read = _Reader(data, "status")
        source = read.raw("heat_source")
        return cls(
            serial=read.text("serial", max_length=32, pattern=TOPIC_SERIAL_PATTERN),
            setpoint_seq=read.integer("setpoint_seq", 0),
            power_target_w=read.number("power_target_w", 0.0, 500.0),
            jobs_running=read.integer("jobs_running", 0, 1000),
            gflops=read.number("gflops", 0.0, 1e6),
            heat_share=read.number("heat_share", 0.0, 1.0),
            heat_source=HeatSource(source)
            if source in HeatSource.__members__.values()
            else HeatSource.UNKNOWN,
            energy_kwh=read.number("energy_kwh", 0.0),
            reimbursed_eur=read.number("reimbursed_eur", 0.0),
            room_temperature=read.optional_number("room_temperature", -20.0),
            updated_at=read.time("updated_at"),
            preheating_for=read.optional_time("preheating_for")
            if read.get("preheating_for") is not None
            else None,
        )
