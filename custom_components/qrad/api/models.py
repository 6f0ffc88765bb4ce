"""Typed, validated models of what a Q.rad sends (docs/protocol.md, section 4).

Each model declares its fields once, with the check its wire value must pass
(`field(metadata=number(5.0, 30.0))`); mashumaro turns the declarations into
the code that reads and writes them. `from_dict` raises
QradInvalidResponseError naming the offending field as `section.field`, so that
a bad payload fails in one place with a clear message. `to_dict` gives the
wire form back.

mashumaro checks no primitive type by itself (it would take `True` for a
number, or NaN): every field therefore names its check, and a check refuses
what section 4.1 refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from enum import StrEnum
import math
import re
from typing import Any, NamedTuple, Self, cast

from mashumaro import field_options
from mashumaro.codecs import BasicDecoder, BasicEncoder
from mashumaro.exceptions import InvalidFieldValue, MissingField

from .exceptions import QradInvalidResponseError

# \Z, not $: `$` also matches before a trailing newline ("QR3-00A1B2\n").
DEVICE_SERIAL_PATTERN = re.compile(r"^QR[0-9]-[0-9A-F]{6}\Z")
MAC_PATTERN = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}\Z")
MAX_WIFI_CLIENTS = 32
type Json = Mapping[str, Any]
type Check = Callable[[Any], Any]
type FieldOptions = dict[str, Any]


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


# The checks a field declares. Each takes the wire value and gives the model's,
# or raises _Refused saying why; the model adds the field's name.


class _Refused(Exception):  # noqa: N818 (internal: always turned into QradInvalidResponseError)
    """Why a wire value is refused; `key` names a part of the field, if any."""

    def __init__(self, why: str, key: str | None = None) -> None:
        super().__init__(why)
        self.key = key


# Fields whose check must also see null: mashumaro gives None to a field typed
# `X | None` without calling its check, and these refuse null.
_SEES_NULL = "qrad_sees_null"


def _number(low: float | None, high: float | None) -> Check:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Refused("must be a number")
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer too large for a float
            finite = False
        if not finite:
            raise _Refused("must be finite")
        if (low is not None and value < low) or (high is not None and value > high):
            raise _Refused(f"must be between {low} and {high}, not {value}")
        return float(value)

    return check


def number(low: float | None = None, high: float | None = None) -> FieldOptions:
    """A finite JSON number within [low, high] (a boolean is no number), as float."""
    return field_options(deserialize=_number(low, high))


def integer(low: int | None = None, high: int | None = None) -> FieldOptions:
    """A JSON integer within [low, high] (a boolean is no integer)."""

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Refused("must be an integer")
        if (low is not None and value < low) or (high is not None and value > high):
            raise _Refused(f"must be between {low} and {high}, not {value}")
        return value

    return field_options(deserialize=check)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Refused("must be true or false")
    return value


def boolean() -> FieldOptions:
    """A JSON boolean."""
    return field_options(deserialize=_boolean)


def _text_check(max_length: int, pattern: re.Pattern[str] | None) -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not value or len(value) > max_length:
            raise _Refused(f"must be a string of 1-{max_length} characters")
        if pattern is not None and not pattern.match(value):
            raise _Refused("is malformed")
        return value

    return check


def text(
    max_length: int = 256, *, pattern: re.Pattern[str] | None = None
) -> FieldOptions:
    """A string of 1 to max_length characters, matching `pattern` if given."""
    return field_options(deserialize=_text_check(max_length, pattern))


def texts(*, serials: bool = False) -> FieldOptions:
    """A list of strings; with `serials`, each a Q.rad's serial."""

    def check(value: Any) -> list[str]:
        if not isinstance(value, list):
            raise _Refused("must be a list")
        if not all(isinstance(item, str) for item in value):
            raise _Refused("must be a list of strings")
        if serials and not all(map(DEVICE_SERIAL_PATTERN.match, value)):
            raise _Refused("holds a bad serial")
        return list(value)

    return field_options(deserialize=check)


def _wire_time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _time(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except TypeError, ValueError:
        raise _Refused("must be an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        raise _Refused("must carry its time zone")
    return parsed


def iso_time(wire: Callable[[datetime], str] = _wire_time) -> FieldOptions:
    """An ISO 8601 timestamp with its time zone; written back by `wire` (UTC as Z)."""
    return field_options(deserialize=_time, serialize=wire)


def enum[E: StrEnum](kind: type[E]) -> FieldOptions:
    """One of the enum's values; any other is refused."""

    def check(value: Any) -> E:
        try:
            return kind(value)
        except ValueError:
            raise _Refused(f"has an unknown value {value!r}") from None

    return field_options(deserialize=check)


def unit_enum[E: StrEnum](kind: type[E]) -> FieldOptions:
    """A unit's value, or None for one this client does not know (section 1).

    A newer firmware may add values: its state stays readable, and what shows
    that field says "unknown". A value that is not text (null included) is
    still bad.
    """

    def check(value: Any) -> E | None:
        if not isinstance(value, str):
            raise _Refused(f"must be text, not {value!r}")
        try:
            return kind(value)
        except ValueError:
            return None

    return field_options(deserialize=check) | {_SEES_NULL: True}


def tolerant[E: StrEnum](kind: type[E], unknown: E | None = None) -> FieldOptions:
    """One of the enum's values, or `unknown` for anything else (section 1)."""

    def check(value: Any) -> E | None:
        try:
            return kind(value)
        except ValueError:
            return unknown

    return field_options(deserialize=check)


def section(model: type[WireModel]) -> FieldOptions:
    """A nested object, read by its own model."""
    return field_options(deserialize=model.from_dict)


def items(
    model: type[WireModel],
    max_items: int,
    into: type[list[Any] | tuple[Any, ...]] = list,
) -> FieldOptions:
    """A list of at most max_items objects, each read by `model`."""

    def check(value: Any) -> Any:
        if not isinstance(value, list):
            raise _Refused("must be a list")
        if len(value) > max_items:
            raise _Refused(f"must hold at most {max_items} entries")
        return into(
            model.from_dict(item, index=index) for index, item in enumerate(value)
        )

    return field_options(deserialize=check)


class _Codec(NamedTuple):
    """What mashumaro built for one model, and the fields that must see null."""

    decode: Callable[[Any], Any]
    encode: Callable[[Any], dict[str, Any]]
    sees_null: tuple[tuple[str, Check], ...]


_CODECS: dict[type[WireModel], _Codec] = {}


def _codec(model: type[WireModel]) -> _Codec:
    """Built on first use: the model's dataclass (and what it names) must exist."""
    if (codec := _CODECS.get(model)) is None:
        codec = _CODECS[model] = _Codec(
            BasicDecoder(model).decode,
            BasicEncoder(model).encode,
            tuple(
                (item.name, item.metadata["deserialize"])
                for item in fields(cast("Any", model))
                if item.metadata.get(_SEES_NULL)
            ),
        )
    return codec


class WireModel:
    """A model read from the wire and written back to it (its fields declared once).

    A subclass names its `section` (`class Sensors(WireModel, section="sensors")`),
    the prefix of its errors' field names; `{index}` in it is an entry's place in
    its list.
    """

    # Not annotated: get_type_hints(QradState), which device.py reads for the
    # sections, would list it.
    _section = ""

    def __init_subclass__(cls, *, section: str | None = None, **kwargs: Any) -> None:
        """Keep the section the errors name."""
        super().__init_subclass__(**kwargs)
        if section is not None:
            cls._section = section

    @classmethod
    def from_dict(cls, data: object, *, index: int | None = None) -> Self:
        """Validate a wire object into the model, or raise QradInvalidResponseError.

        `index`: the object's place in its list, for the errors to name.
        """
        if not isinstance(data, Mapping):
            raise cls._invalid(index, None, "must be an object")
        codec = _codec(cls)
        for key, check in codec.sees_null:
            if data.get(key, MISSING) is None:
                try:
                    check(None)
                except _Refused as err:
                    raise cls._invalid(index, key, str(err)) from None
        try:
            return cast("Self", codec.decode(data))
        except MissingField as err:
            raise cls._invalid(index, err.field_name, "is missing") from None
        except InvalidFieldValue as err:
            cause = err.__context__
            if isinstance(cause, QradInvalidResponseError):  # a nested model's
                raise QradInvalidResponseError(str(cause)) from None
            if not isinstance(cause, _Refused):
                raise cls._invalid(index, err.field_name, "is invalid") from cause
            name = err.field_name
            raise cls._invalid(
                index, name if cause.key is None else f"{name}.{cause.key}", str(cause)
            ) from None
        except ValueError as err:  # the model's own __post_init__ refused it
            raise QradInvalidResponseError(str(err)) from err

    @classmethod
    def _invalid(
        cls, index: int | None, key: str | None, why: str
    ) -> QradInvalidResponseError:
        where = cls._section.format(index=index)
        return QradInvalidResponseError(
            f"{where} {why}" if key is None else f"{where}.{key} {why}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form (for diagnostics, and what the outbox keeps)."""
        return _codec(type(self)).encode(self)


_SETPOINT = _number(5.0, 30.0)


def _preset_temperatures(value: Any) -> dict[Preset, float]:
    """The four named presets' targets (the others have none)."""
    if not isinstance(value, Mapping):
        raise _Refused("must be an object")
    targets = {}
    for preset in (Preset.COMFORT, Preset.ECO, Preset.AWAY, Preset.FROST_PROTECTION):
        if preset.value not in value:
            raise _Refused("is missing", preset.value)
        try:
            targets[preset] = _SETPOINT(value[preset.value])
        except _Refused as err:
            raise _Refused(str(err), preset.value) from None
    return targets


@dataclass(frozen=True, kw_only=True)
class _Identity(WireModel):
    """What a Q.rad says of itself, in `GET /info` and in its state."""

    serial: str = field(metadata=text(pattern=DEVICE_SERIAL_PATTERN))
    name: str = field(metadata=text(64))
    model: str = field(metadata=text(32))
    firmware: str = field(metadata=text(32))
    api_version: int = field(metadata=integer(1))
    mac: str = field(metadata=text(pattern=MAC_PATTERN))


@dataclass(frozen=True, kw_only=True)
class DeviceInfo(_Identity, section="info"):
    """The public identity of a Q.rad (`GET /info`)."""

    paired: bool = field(metadata=boolean())


@dataclass(frozen=True, kw_only=True)
class DiscoveryInfo:
    """What a Q.rad announces in its mDNS TXT record (read by discovery.py)."""

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
class Device(_Identity, section="device"):
    """The unit itself."""

    boot_id: str = field(metadata=text(64))
    uptime_s: int = field(metadata=integer(0))
    wifi_rssi_dbm: int = field(metadata=integer(-100, 0))


@dataclass(frozen=True, kw_only=True)
class Thermostat(WireModel, section="thermostat"):
    """Target, mode and preset, and what the unit does about them."""

    target_temperature: float = field(metadata=number(5.0, 30.0))
    min_temperature: float = field(metadata=number(5.0, 30.0))
    max_temperature: float = field(metadata=number(5.0, 30.0))
    step: float = field(metadata=number(0.1, 5.0))
    # None: a value this client does not know (a newer firmware's).
    hvac_mode: HvacMode | None = field(metadata=unit_enum(HvacMode))
    preset: Preset | None = field(metadata=unit_enum(Preset))
    preset_temperatures: dict[Preset, float] = field(
        metadata=field_options(deserialize=_preset_temperatures)
    )
    boost_until: datetime | None = field(metadata=iso_time())
    hvac_action: HvacAction | None = field(metadata=unit_enum(HvacAction))
    control: ControlSource | None = field(metadata=unit_enum(ControlSource))


@dataclass(frozen=True, kw_only=True)
class Sensors(WireModel, section="sensors"):
    """The room as the unit measures it."""

    temperature: float = field(metadata=number(-20.0, 50.0))
    humidity: float = field(metadata=number(0.0, 100.0))
    co2_ppm: int = field(metadata=integer(400, 5000))
    voc_index: int = field(metadata=integer(1, 500))
    illuminance_lx: float = field(metadata=number(0.0, 100000.0))
    noise_db: float = field(metadata=number(20.0, 120.0))


@dataclass(frozen=True, kw_only=True)
class Power(WireModel, section="power"):
    """Electrical draw (all of it heat), its target and its cap."""

    power_w: float = field(metadata=number(0.0, 520.0))
    power_target_w: float = field(metadata=number(0.0, 500.0))
    power_limit_w: float = field(metadata=number(0.0, 500.0))


@dataclass(frozen=True, kw_only=True)
class Compute(WireModel, section="compute"):
    """The compute that makes the heat."""

    gflops: float = field(metadata=number(0.0))
    jobs_running: int = field(metadata=integer(0))
    load: float = field(metadata=number(0.0, 1.0))


@dataclass(frozen=True, kw_only=True)
class Meters(WireModel, section="meters"):
    """Totals that only grow."""

    energy_kwh: float = field(metadata=number(0.0))
    compute_tflop: float = field(metadata=number(0.0))


@dataclass(frozen=True, kw_only=True)
class Media(WireModel, section="speaker.media"):
    """What the speaker has loaded."""

    url: str = field(metadata=text(2048))
    title: str | None = field(metadata=text(128))
    duration_s: float | None = field(metadata=number(0.0))
    position_s: float = field(metadata=number(0.0))
    position_updated_at: datetime = field(metadata=iso_time())


@dataclass(frozen=True, kw_only=True)
class SpeakerGroup(WireModel, section="speaker.group"):
    """The speaker group a Q.rad leads or follows (additive, protocol 3.2)."""

    id: str = field(metadata=text(64))
    role: GroupRole | None = field(metadata=unit_enum(GroupRole))
    leader: str = field(metadata=text(pattern=DEVICE_SERIAL_PATTERN))
    members: list[str] = field(metadata=texts(serials=True))


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
class Speaker(WireModel, section="speaker"):
    """The Bluetooth speaker."""

    power: bool = field(metadata=boolean())
    state: SpeakerState | None = field(metadata=unit_enum(SpeakerState))
    volume: float = field(metadata=number(0.0, 1.0))
    muted: bool = field(metadata=boolean())
    source: str = field(metadata=text(64))
    sources: list[str] = field(metadata=texts())
    announcing: bool = field(metadata=boolean())
    media: Media | None = field(metadata=section(Media))
    # Additive: absent on units without groups, read as null.
    group: SpeakerGroup | None = field(default=None, metadata=section(SpeakerGroup))
    # Whether the unit sent `group` at all (null included), so that the wire
    # form gives it back as sent.
    group_sent: bool = field(
        default=False,
        compare=False,
        repr=False,
        metadata=field_options(
            alias="group", deserialize=lambda _: True, serialize="omit"
        ),
    )

    def __post_serialize__(self, wire: dict[str, Any]) -> dict[str, Any]:
        """`group` as the unit sent it: absent, null or a group."""
        if self.group is None and not self.group_sent:
            del wire["group"]
        return wire


@dataclass(frozen=True, kw_only=True)
class WifiClient(WireModel, section="wifi.clients[]"):
    """A device connected to the Q.rad's access point."""

    mac: str = field(metadata=text(pattern=MAC_PATTERN))
    name: str | None = field(metadata=text(64))
    ip: str | None = field(metadata=text(45))
    signal_dbm: int = field(metadata=integer(-100, 0))
    connected_since: datetime = field(metadata=iso_time())


@dataclass(frozen=True, kw_only=True)
class Wifi(WireModel, section="wifi"):
    """The Wi-Fi access point."""

    enabled: bool = field(metadata=boolean())
    ssid: str = field(metadata=text(32))
    channel: int = field(metadata=integer(1, 13))
    clients: list[WifiClient] = field(metadata=items(WifiClient, MAX_WIFI_CLIENTS))


@dataclass(frozen=True, kw_only=True)
class Charger(WireModel, section="charger"):
    """The induction phone charger."""

    enabled: bool = field(metadata=boolean())
    phone_present: bool = field(metadata=boolean())
    charging: bool = field(metadata=boolean())
    power_w: float = field(metadata=number(0.0, 15.0))


@dataclass(frozen=True, kw_only=True)
class CloudLink(WireModel, section="cloud"):
    """The unit's own link to the cloud compute controller."""

    connected: bool = field(metadata=boolean())
    account: str | None = field(metadata=text(32))
    broker: str | None = field(metadata=text(256))
    last_control_at: datetime | None = field(metadata=iso_time())


@dataclass(frozen=True, kw_only=True)
class QradState(WireModel, section="state"):
    """The whole state of a Q.rad (`GET /state`, WebSocket snapshot)."""

    device: Device = field(metadata=section(Device))
    thermostat: Thermostat = field(metadata=section(Thermostat))
    sensors: Sensors = field(metadata=section(Sensors))
    power: Power = field(metadata=section(Power))
    compute: Compute = field(metadata=section(Compute))
    meters: Meters = field(metadata=section(Meters))
    speaker: Speaker = field(metadata=section(Speaker))
    wifi: Wifi = field(metadata=section(Wifi))
    charger: Charger = field(metadata=section(Charger))
    cloud: CloudLink = field(metadata=section(CloudLink))


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
