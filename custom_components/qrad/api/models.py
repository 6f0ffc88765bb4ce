"""Typed, validated models of what a Q.rad sends (docs/protocol.md, section 4).

Every model is built by `from_dict`, which checks types and ranges and raises
QradInvalidResponseError naming the offending field, so that a bad payload
fails in one place with a clear message. `to_dict` gives the wire form back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
import math
import re
from typing import Any, Self, cast

from .exceptions import QradInvalidResponseError

# \Z, not $: `$` also matches before a trailing newline ("QR3-00A1B2\n").
DEVICE_SERIAL_PATTERN = re.compile(r"^QR[0-9]-[0-9A-F]{6}\Z")
MAC_PATTERN = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}\Z")
MAX_WIFI_CLIENTS = 32
type Json = Mapping[str, Any]


class HvacMode(StrEnum):
    """Hold the target, do nothing, or follow the unit's day schedule."""

    HEAT = "heat"
    OFF = "off"
    AUTO = "auto"


class Preset(StrEnum):
    """Named targets; `none` is a target set by hand."""

    NONE = "none"
    COMFORT = "comfort"
    ECO = "eco"
    AWAY = "away"
    FROST_PROTECTION = "frost_protection"
    BOOST = "boost"


class HvacAction(StrEnum):
    """What the Q.rad is doing right now."""

    HEATING = "heating"
    IDLE = "idle"
    OFF = "off"


class ControlSource(StrEnum):
    """Who sets the power: the cloud, or the unit's own thermostat."""

    CLOUD = "cloud"
    LOCAL = "local"


class GroupRole(StrEnum):
    """A Q.rad's place in a speaker group."""

    LEADER = "leader"
    MEMBER = "member"


class SpeakerState(StrEnum):
    """The speaker's playback state."""

    OFF = "off"
    IDLE = "idle"
    PLAYING = "playing"
    PAUSED = "paused"


class _Reader:
    """Reads fields of one JSON object, naming them in errors as `section.field`."""

    def __init__(self, data: object, section: str) -> None:
        if not isinstance(data, Mapping):
            raise QradInvalidResponseError(f"{section} must be an object")
        self._data: Json = data
        self._section = section

    def _fail(self, key: str, why: str) -> QradInvalidResponseError:
        return QradInvalidResponseError(f"{self._section}.{key} {why}")

    def raw(self, key: str) -> Any:
        if key not in self._data:
            raise self._fail(key, "is missing")
        return self._data[key]

    def number(
        self, key: str, low: float | None = None, high: float | None = None
    ) -> float:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "must be a number")
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer too large for a float
            finite = False
        if not finite:
            raise self._fail(key, "must be finite")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self._fail(key, f"must be between {low} and {high}, not {value}")
        return float(value)

    def integer(self, key: str, low: int | None = None, high: int | None = None) -> int:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "must be an integer")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self._fail(key, f"must be between {low} and {high}, not {value}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.raw(key)
        if not isinstance(value, bool):
            raise self._fail(key, "must be true or false")
        return value

    def text(
        self, key: str, *, max_length: int = 256, pattern: re.Pattern[str] | None = None
    ) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not value or len(value) > max_length:
            raise self._fail(key, f"must be a string of 1-{max_length} characters")
        if pattern is not None and not pattern.match(value):
            raise self._fail(key, "is malformed")
        return value

    def optional_text(self, key: str, *, max_length: int = 256) -> str | None:
        return None if self.raw(key) is None else self.text(key, max_length=max_length)

    def optional_number(self, key: str, low: float | None = None) -> float | None:
        return None if self.raw(key) is None else self.number(key, low)

    def enum[E: StrEnum](self, key: str, kind: type[E]) -> E:
        value = self.raw(key)
        try:
            return kind(value)
        except ValueError:
            raise self._fail(key, f"has an unknown value {value!r}") from None

    def state_enum[E: StrEnum](self, key: str, kind: type[E]) -> E | None:
        """A unit's value, or None for one this client does not know (section 1).

        A newer firmware may add values: its state stays readable, and what
        shows that field says "unknown". A value that is not text is still bad.
        """
        value = self.raw(key)
        if not isinstance(value, str):
            raise self._fail(key, f"must be text, not {value!r}")
        try:
            return kind(value)
        except ValueError:
            return None

    def time(self, key: str) -> datetime:
        value = self.raw(key)
        try:
            parsed = datetime.fromisoformat(value)
        except TypeError, ValueError:
            raise self._fail(key, "must be an ISO 8601 timestamp") from None
        if parsed.tzinfo is None:
            raise self._fail(key, "must carry its time zone")
        return parsed

    def optional_time(self, key: str) -> datetime | None:
        return None if self.raw(key) is None else self.time(key)

    def section(self, key: str) -> _Reader:
        return _Reader(self.raw(key), f"{self._section}.{key}")

    def get(self, key: str) -> Any:
        """A field added later (additive): None when the unit does not send it."""
        return self._data.get(key)

    def items(self, key: str, max_items: int | None = None) -> list[object]:
        value = self.raw(key)
        if not isinstance(value, list):
            raise self._fail(key, "must be a list")
        if max_items is not None and len(value) > max_items:
            raise self._fail(key, f"must hold at most {max_items} entries")
        return value

    def texts(self, key: str) -> list[str]:
        values = self.items(key)
        if not all(isinstance(value, str) for value in values):
            raise self._fail(key, "must be a list of strings")
        return cast("list[str]", values)


class _Model:
    """Gives every model its wire form back, for diagnostics."""

    def to_dict(self) -> dict[str, Any]:
        fields: dict[str, Any] = asdict(cast("Any", self))
        return {key: _wire(value) for key, value in fields.items()}


def _wire(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


@dataclass(frozen=True, kw_only=True)
class DeviceInfo(_Model):
    """The public identity of a Q.rad (`GET /info`)."""

    serial: str
    name: str
    model: str
    firmware: str
    api_version: int
    mac: str
    paired: bool

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = _Reader(data, "info")
        return cls(
            serial=read.text("serial", pattern=DEVICE_SERIAL_PATTERN),
            name=read.text("name", max_length=64),
            model=read.text("model", max_length=32),
            firmware=read.text("firmware", max_length=32),
            api_version=read.integer("api_version", 1),
            mac=read.text("mac", pattern=MAC_PATTERN),
            paired=read.boolean("paired"),
        )


@dataclass(frozen=True, kw_only=True)
class DiscoveryInfo(_Model):
    """What a Q.rad announces in its mDNS TXT record."""

    serial: str
    name: str
    model: str
    firmware: str
    api_version: int
    mac: str
    path: str


@dataclass(frozen=True, kw_only=True)
class PairingResult:
    """A new device token and the id that revokes it."""

    token: str
    token_id: str

    def __repr__(self) -> str:
        """Never show the token."""
        return f"PairingResult(token_id={self.token_id!r})"


@dataclass(frozen=True, kw_only=True)
class Device(_Model):
    """The unit itself."""

    serial: str
    name: str
    model: str
    firmware: str
    api_version: int
    mac: str
    boot_id: str
    uptime_s: int
    wifi_rssi_dbm: int

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = _Reader(data, "device")
        return cls(
            serial=read.text("serial", pattern=DEVICE_SERIAL_PATTERN),
            name=read.text("name", max_length=64),
            model=read.text("model", max_length=32),
            firmware=read.text("firmware", max_length=32),
            api_version=read.integer("api_version", 1),
            mac=read.text("mac", pattern=MAC_PATTERN),
            boot_id=read.text("boot_id", max_length=64),
            uptime_s=read.integer("uptime_s", 0),
            wifi_rssi_dbm=read.integer("wifi_rssi_dbm", -100, 0),
        )


@dataclass(frozen=True, kw_only=True)
class Thermostat(_Model):
    """Target, mode and preset, and what the unit does about them."""

    target_temperature: float
    min_temperature: float
    max_temperature: float
    step: float
    # None: a value this client does not know (a newer firmware's).
    hvac_mode: HvacMode | None
    preset: Preset | None
    preset_temperatures: dict[Preset, float]
    boost_until: datetime | None
    hvac_action: HvacAction | None
    control: ControlSource | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = _Reader(data, "thermostat")
        presets = read.section("preset_temperatures")
        named = (Preset.COMFORT, Preset.ECO, Preset.AWAY, Preset.FROST_PROTECTION)
        return cls(
            target_temperature=read.number("target_temperature", 5.0, 30.0),
            min_temperature=read.number("min_temperature", 5.0, 30.0),
            max_temperature=read.number("max_temperature", 5.0, 30.0),
            step=read.number("step", 0.1, 5.0),
            hvac_mode=read.state_enum("hvac_mode", HvacMode),
            preset=read.state_enum("preset", Preset),
            preset_temperatures={
                preset: presets.number(preset.value, 5.0, 30.0) for preset in named
            },
            boost_until=read.optional_time("boost_until"),
            hvac_action=read.state_enum("hvac_action", HvacAction),
            control=read.state_enum("control", ControlSource),
        )


@dataclass(frozen=True, kw_only=True)
class Sensors(_Model):
    """The room as the unit measures it."""

    temperature: float
    humidity: float
    co2_ppm: int
    voc_index: int
    illuminance_lx: float
    noise_db: float

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = _Reader(data, "sensors")
        return cls(
            temperature=read.number("temperature", -20.0, 50.0),
            humidity=read.number("humidity", 0.0, 100.0),
            co2_ppm=read.integer("co2_ppm", 400, 5000),
            voc_index=read.integer("voc_index", 1, 500),
            illuminance_lx=read.number("illuminance_lx", 0.0, 100000.0),
            noise_db=read.number("noise_db", 20.0, 120.0),
        )


@dataclass(frozen=True, kw_only=True)
class Power(_Model):
    """Electrical draw (all of it heat), its target and its cap."""

    power_w: float
    power_target_w: float
    power_limit_w: float

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = _Reader(data, "power")
        return cls(
            power_w=read.number("power_w", 0.0, 520.0),
            power_target_w=read.number("power_target_w", 0.0, 500.0),
            power_limit_w=read.number("power_limit_w", 0.0, 500.0),
        )


@dataclass(frozen=True, kw_only=True)
class Compute(_Model):
    """The compute that makes the heat."""

    gflops: float
    jobs_running: int
    load: float

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = _Reader(data, "compute")
        return cls(
            gflops=read.number("gflops", 0.0),
            jobs_running=read.integer("jobs_running", 0),
            load=read.number("load", 0.0, 1.0),
        )


@dataclass(frozen=True, kw_only=True)
class Meters(_Model):
    """Totals that only grow."""

    energy_kwh: float
    compute_tflop: float

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = _Reader(data, "meters")
        return cls(
            energy_kwh=read.number("energy_kwh", 0.0),
            compute_tflop=read.number("compute_tflop", 0.0),
        )


@dataclass(frozen=True, kw_only=True)
class Media(_Model):
    """What the speaker has loaded."""

    url: str
    title: str | None
    duration_s: float | None
    position_s: float
    position_updated_at: datetime

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = _Reader(data, "speaker.media")
        return cls(
            url=read.text("url", max_length=2048),
            title=read.optional_text("title", max_length=128),
            duration_s=read.optional_number("duration_s", 0.0),
            position_s=read.number("position_s", 0.0),
            position_updated_at=read.time("position_updated_at"),
        )


@dataclass(frozen=True, kw_only=True)
class SpeakerGroup(_Model):
    """The speaker group a Q.rad leads or follows (additive, protocol 3.2)."""

    id: str
    role: GroupRole | None
    leader: str
    members: list[str]

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = _Reader(data, "speaker.group")
        members = read.texts("members")
        if not all(DEVICE_SERIAL_PATTERN.match(serial) for serial in members):
            raise QradInvalidResponseError("speaker.group.members holds a bad serial")
        return cls(
            id=read.text("id", max_length=64),
            role=read.state_enum("role", GroupRole),
            leader=read.text("leader", pattern=DEVICE_SERIAL_PATTERN),
            members=list(members),
        )


@dataclass(frozen=True, kw_only=True)
class GroupPeer:
    """How one Q.rad of a group reaches another (a `POST /speaker/group` item)."""

    serial: str
    host: str
    port: int

    def to_wire(self) -> dict[str, Any]:
        """The request's form."""
        return {"serial": self.serial, "host": self.host, "port": self.port}


@dataclass(frozen=True, kw_only=True)
class Speaker(_Model):
    """The Bluetooth speaker."""

    power: bool
    state: SpeakerState | None
    volume: float
    muted: bool
    source: str
    sources: list[str]
    announcing: bool
    media: Media | None
    group: SpeakerGroup | None = None
    # Whether the unit sent `group` at all (it is additive), for the wire form.
    group_sent: bool = field(default=False, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The wire form; `group` as the unit sent it (absent, null or a group)."""
        return _speaker_wire(super().to_dict())

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = _Reader(data, "speaker")
        sources = list(read.texts("sources"))
        media = read.raw("media")
        group = read.get("group")
        return cls(
            power=read.boolean("power"),
            state=read.state_enum("state", SpeakerState),
            volume=read.number("volume", 0.0, 1.0),
            muted=read.boolean("muted"),
            source=read.text("source", max_length=64),
            sources=sources,
            announcing=read.boolean("announcing"),
            media=None if media is None else Media.from_dict(media),
            group=None if group is None else SpeakerGroup.from_dict(group),
            group_sent="group" in data,  # type: ignore[operator]
        )


@dataclass(frozen=True, kw_only=True)
class WifiClient(_Model):
    """A device connected to the Q.rad's access point."""

    mac: str
    name: str | None
    ip: str | None
    signal_dbm: int
    connected_since: datetime

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = _Reader(data, "wifi.clients[]")
        return cls(
            mac=read.text("mac", pattern=MAC_PATTERN),
            name=read.optional_text("name", max_length=64),
            ip=read.optional_text("ip", max_length=45),
            signal_dbm=read.integer("signal_dbm", -100, 0),
            connected_since=read.time("connected_since"),
        )


@dataclass(frozen=True, kw_only=True)
class Wifi(_Model):
    """The Wi-Fi access point."""

    enabled: bool
    ssid: str
    channel: int
    clients: list[WifiClient]

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = _Reader(data, "wifi")
        return cls(
            enabled=read.boolean("enabled"),
            ssid=read.text("ssid", max_length=32),
            channel=read.integer("channel", 1, 13),
            clients=[
                WifiClient.from_dict(item)
                for item in read.items("clients", MAX_WIFI_CLIENTS)
            ],
        )


@dataclass(frozen=True, kw_only=True)
class Charger(_Model):
    """The induction phone charger."""

    enabled: bool
    phone_present: bool
    charging: bool
    power_w: float

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = _Reader(data, "charger")
        return cls(
            enabled=read.boolean("enabled"),
            phone_present=read.boolean("phone_present"),
            charging=read.boolean("charging"),
            power_w=read.number("power_w", 0.0, 15.0),
        )


@dataclass(frozen=True, kw_only=True)
class CloudLink(_Model):
    """The unit's own link to the cloud compute controller."""

    connected: bool
    account: str | None
    broker: str | None
    last_control_at: datetime | None

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = _Reader(data, "cloud")
        return cls(
            connected=read.boolean("connected"),
            account=read.optional_text("account", max_length=32),
            broker=read.optional_text("broker", max_length=256),
            last_control_at=read.optional_time("last_control_at"),
        )


@dataclass(frozen=True, kw_only=True)
class QradState(_Model):
    """The whole state of a Q.rad (`GET /state`, WebSocket snapshot)."""

    device: Device
    thermostat: Thermostat
    sensors: Sensors
    power: Power
    compute: Compute
    meters: Meters
    speaker: Speaker
    wifi: Wifi
    charger: Charger
    cloud: CloudLink

    def to_dict(self) -> dict[str, Any]:
        """The wire form; `speaker.group` as the unit sent it."""
        wire = super().to_dict()
        wire["speaker"] = _speaker_wire(wire["speaker"])
        return wire

    @classmethod
    def from_dict(cls, data: object) -> Self:
        read = _Reader(data, "state")
        return cls(
            device=Device.from_dict(read.raw("device")),
            thermostat=Thermostat.from_dict(read.raw("thermostat")),
            sensors=Sensors.from_dict(read.raw("sensors")),
            power=Power.from_dict(read.raw("power")),
            compute=Compute.from_dict(read.raw("compute")),
            meters=Meters.from_dict(read.raw("meters")),
            speaker=Speaker.from_dict(read.raw("speaker")),
            wifi=Wifi.from_dict(read.raw("wifi")),
            charger=Charger.from_dict(read.raw("charger")),
            cloud=CloudLink.from_dict(read.raw("cloud")),
        )


def _speaker_wire(speaker: dict[str, Any]) -> dict[str, Any]:
    """A speaker's wire form: `group` only if the unit sent it."""
    sent = speaker.pop("group_sent", False)
    if speaker.get("group") is None and not sent:
        speaker.pop("group", None)
    return speaker


def merge_update(state: Json, changes: Json) -> dict[str, Any]:
    """Apply a partial update: objects merge recursively, anything else replaces."""
    merged = dict(state)
    for key, value in changes.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = merge_update(current, value)
        else:
            merged[key] = value
    return merged
