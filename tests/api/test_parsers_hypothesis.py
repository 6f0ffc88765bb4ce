"""Property-based tests of what reads the wire: any input parses or is refused.

Whatever a unit (or the network) sends, the parsers either give a model that
meets docs/protocol.md section 4.1 or raise the documented error
(QradInvalidResponseError, or QradConnectionError for a stream that must
resync): never another exception, never an invalid model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import copy
from datetime import UTC, datetime, timedelta, timezone
import json
import math
import re
from typing import Any

from hypothesis import HealthCheck, example, given, settings, strategies as st

from custom_components.qrad.api import (
    DiscoveryInfo,
    QradDevice,
    QradError,
    QradInvalidResponseError,
    QradState,
    check_supported,
    parse_txt,
)
from custom_components.qrad.api.device import _Stream
from custom_components.qrad.api.models import merge_update

from .support import served_state

SETTINGS = settings(
    deadline=None,
    max_examples=200,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Patterns of the protocol, written strictly: ASCII only, no trailing newline.
SERIAL = re.compile(r"QR[0-9]-[0-9A-F]{6}", re.ASCII)
MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", re.ASCII)
SEMVER = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)", re.ASCII)


# Arbitrary JSON, including what JSON cannot carry but a careless parser might.

leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**308, max_value=10**400)
    | st.floats()  # NaN and infinities included
    | st.text(max_size=12)
)
json_values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=5)


# Valid states, drawn from the table of section 4.1.


def numbers(low: float, high: float | None = None) -> st.SearchStrategy[float]:
    """JSON numbers (integers or floats) within [low, high]."""
    top = 1e12 if high is None else high
    return st.floats(low, top, allow_nan=False) | st.integers(
        math.ceil(low), math.floor(top)
    ).map(int)


def texts(max_size: int) -> st.SearchStrategy[str]:
    """Strings of 1 to max_size characters."""
    return st.text(min_size=1, max_size=max_size)


def nullable[T](strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    """The value, or null."""
    return st.none() | strategy


timestamps = st.builds(
    lambda moment, zone: moment.replace(tzinfo=zone).isoformat().replace("+00:00", "Z"),
    # Naive bounds, as hypothesis wants; the zone is drawn separately.
    st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)),  # noqa: DTZ001
    st.sampled_from([UTC, timezone(timedelta(hours=2))]),
)
serials = st.from_regex(r"\AQR[0-9]-[0-9A-F]{6}\Z")
macs = st.from_regex(r"\A[0-9a-f]{2}(:[0-9a-f]{2}){5}\Z")
semvers = st.builds("{}.{}.{}".format, *(st.integers(0, 99) for _ in range(3)))
setpoints = numbers(5.0, 30.0)

media = st.fixed_dictionaries(
    {
        "url": texts(2048),
        "title": nullable(texts(128)),
        "duration_s": nullable(numbers(0.0)),
        "position_s": numbers(0.0),
        "position_updated_at": timestamps,
    }
)
wifi_clients = st.fixed_dictionaries(
    {
        "mac": macs,
        "name": nullable(texts(64)),
        "ip": nullable(texts(45)),
        "signal_dbm": st.integers(-100, 0),
        "connected_since": timestamps,
    }
)
SECTIONS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "device": st.fixed_dictionaries(
        {
            "serial": serials,
            "name": texts(64),
            "model": texts(32),
            "firmware": semvers,
            "api_version": st.just(1),
            "mac": macs,
            "boot_id": st.uuids(version=4).map(str),
            "uptime_s": st.integers(0, 10**9),
            "wifi_rssi_dbm": st.integers(-100, 0),
        }
    ),
    "thermostat": st.fixed_dictionaries(
        {
            "target_temperature": setpoints,
            "min_temperature": st.just(5.0),
            "max_temperature": st.just(30.0),
            "step": st.just(0.5),
            "hvac_mode": st.sampled_from(["heat", "off", "auto"]),
            "preset": st.sampled_from(
                ["none", "comfort", "eco", "away", "frost_protection", "boost"]
            ),
            "preset_temperatures": st.fixed_dictionaries(
                {
                    "comfort": setpoints,
                    "eco": setpoints,
                    "away": setpoints,
                    "frost_protection": setpoints,
                }
            ),
            "boost_until": nullable(timestamps),
            "hvac_action": st.sampled_from(["heating", "idle", "off"]),
            "control": st.sampled_from(["cloud", "local"]),
        }
    ),
    "sensors": st.fixed_dictionaries(
        {
            "temperature": numbers(-20.0, 50.0),
            "humidity": numbers(0.0, 100.0),
            "co2_ppm": st.integers(400, 5000),
            "voc_index": st.integers(1, 500),
            "illuminance_lx": numbers(0.0, 100000.0),
            "noise_db": numbers(20.0, 120.0),
        }
    ),
    "power": st.fixed_dictionaries(
        {
            "power_w": numbers(0.0, 520.0),
            "power_target_w": numbers(0.0, 500.0),
            "power_limit_w": numbers(0.0, 500.0),
        }
    ),
    "compute": st.fixed_dictionaries(
        {
            "gflops": numbers(0.0, 620.0),
            "jobs_running": st.integers(0, 1000),
            "load": numbers(0.0, 1.0),
        }
    ),
    "meters": st.fixed_dictionaries(
        {"energy_kwh": numbers(0.0), "compute_tflop": numbers(0.0)}
    ),
    "speaker": st.fixed_dictionaries(
        {
            "power": st.booleans(),
            "state": st.sampled_from(["off", "idle", "playing", "paused"]),
            "volume": numbers(0.0, 1.0),
            "muted": st.booleans(),
            "source": st.sampled_from(["network", "bluetooth"]),
            "sources": st.just(["network", "bluetooth"]),
            "announcing": st.booleans(),
            "media": nullable(media),
        }
    ),
    "wifi": st.fixed_dictionaries(
        {
            "enabled": st.booleans(),
            "ssid": texts(32),
            "channel": st.integers(1, 13),
            "clients": st.lists(wifi_clients, max_size=3),
        }
    ),
    "charger": st.fixed_dictionaries(
        {
            "enabled": st.booleans(),
            "phone_present": st.booleans(),
            "charging": st.booleans(),
            "power_w": numbers(0.0, 15.0),
        }
    ),
    "cloud": st.fixed_dictionaries(
        {
            "connected": st.booleans(),
            "account": nullable(texts(32)),
            "broker": nullable(
                st.builds(
                    "{}://{}:{}".format,
                    st.sampled_from(["mqtt", "mqtts"]),
                    st.from_regex(r"\A[a-z0-9.-]{1,40}\Z"),
                    st.integers(1, 65535),
                )
            ),
            "last_control_at": nullable(timestamps),
        }
    ),
}
valid_states = st.fixed_dictionaries(SECTIONS)


# An independent reading of section 4.1, to judge what the parser accepted.

type Check = Callable[[Any], bool]


def is_number(low: float, high: float | None = None) -> Check:
    """A finite JSON number in range (booleans are not numbers)."""
    return lambda v: (
        isinstance(v, int | float)
        and not isinstance(v, bool)
        and math.isfinite(v)
        and low <= v <= (math.inf if high is None else high)
    )


def is_integer(low: int, high: float = math.inf) -> Check:
    """A JSON integer in range."""
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def is_text(max_length: int, pattern: re.Pattern[str] | None = None) -> Check:
    """A string of 1-max_length characters, matching the pattern if any."""
    return lambda v: (
        isinstance(v, str)
        and 1 <= len(v) <= max_length
        and (pattern is None or pattern.fullmatch(v) is not None)
    )


def is_timestamp(value: Any) -> bool:
    """An ISO 8601 timestamp with its time zone."""
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def is_one_of(*values: str) -> Check:
    """One of the enum's values."""
    return lambda v: v in values


def is_one_of_or_unknown(*values: str) -> Check:
    """One of the enum's values, or null: a value a newer firmware added.

    Section 1: a receiver treats an enum value it does not know as "unknown";
    the model holds None for it, which its wire form writes as null.
    """
    return lambda v: v is None or v in values


def is_nullable(check: Check) -> Check:
    """null, or what `check` accepts."""
    return lambda v: v is None or check(v)


def is_boolean(value: Any) -> bool:
    """A JSON boolean."""
    return isinstance(value, bool)


def is_object(fields: dict[str, Check]) -> Check:
    """An object holding exactly these fields, each accepted by its check."""
    return lambda v: (
        isinstance(v, Mapping)
        and set(v) == set(fields)
        and all(check(v[key]) for key, check in fields.items())
    )


def is_list(check: Check, max_items: float = math.inf) -> Check:
    """A list of at most max_items entries, each accepted by `check`."""
    return lambda v: isinstance(v, list) and len(v) <= max_items and all(map(check, v))


SETPOINT = is_number(5.0, 30.0)
CONTRACT: dict[str, dict[str, Check]] = {
    "device": {
        "serial": is_text(10, SERIAL),
        "name": is_text(64),
        "model": is_text(32),
        "firmware": is_text(32),
        "api_version": is_integer(1),
        "mac": is_text(17, MAC),
        "boot_id": is_text(64),
        "uptime_s": is_integer(0),
        "wifi_rssi_dbm": is_integer(-100, 0),
    },
    "thermostat": {
        "target_temperature": SETPOINT,
        "min_temperature": SETPOINT,
        "max_temperature": SETPOINT,
        "step": is_number(0.1, 5.0),
        "hvac_mode": is_one_of_or_unknown("heat", "off", "auto"),
        "preset": is_one_of_or_unknown(
            "none", "comfort", "eco", "away", "frost_protection", "boost"
        ),
        "preset_temperatures": is_object(
            dict.fromkeys(("comfort", "eco", "away", "frost_protection"), SETPOINT)
        ),
        "boost_until": is_nullable(is_timestamp),
        "hvac_action": is_one_of_or_unknown("heating", "idle", "off"),
        "control": is_one_of_or_unknown("cloud", "local"),
    },
    "sensors": {
        "temperature": is_number(-20.0, 50.0),
        "humidity": is_number(0.0, 100.0),
        "co2_ppm": is_integer(400, 5000),
        "voc_index": is_integer(1, 500),
        "illuminance_lx": is_number(0.0, 100000.0),
        "noise_db": is_number(20.0, 120.0),
    },
    "power": {
        "power_w": is_number(0.0, 520.0),
        "power_target_w": is_number(0.0, 500.0),
        "power_limit_w": is_number(0.0, 500.0),
    },
    "compute": {
        "gflops": is_number(0.0),
        "jobs_running": is_integer(0),
        "load": is_number(0.0, 1.0),
    },
    "meters": {"energy_kwh": is_number(0.0), "compute_tflop": is_number(0.0)},
    "speaker": {
        "power": is_boolean,
        "state": is_one_of_or_unknown("off", "idle", "playing", "paused"),
        "volume": is_number(0.0, 1.0),
        "muted": is_boolean,
        "source": is_text(64),
        "sources": is_list(lambda v: isinstance(v, str)),
        "announcing": is_boolean,
        "media": is_nullable(
            is_object(
                {
                    "url": is_text(2048),
                    "title": is_nullable(is_text(128)),
                    "duration_s": is_nullable(is_number(0.0)),
                    "position_s": is_number(0.0),
                    "position_updated_at": is_timestamp,
                }
            )
        ),
    },
    "wifi": {
        "enabled": is_boolean,
        "ssid": is_text(32),
        "channel": is_integer(1, 13),
        "clients": is_list(
            is_object(
                {
                    "mac": is_text(17, MAC),
                    "name": is_nullable(is_text(64)),
                    "ip": is_nullable(is_text(45)),
                    "signal_dbm": is_integer(-100, 0),
                    "connected_since": is_timestamp,
                }
            ),
            max_items=32,
        ),
    },
    "charger": {
        "enabled": is_boolean,
        "phone_present": is_boolean,
        "charging": is_boolean,
        "power_w": is_number(0.0, 15.0),
    },
    "cloud": {
        "connected": is_boolean,
        "account": is_nullable(is_text(32)),
        "broker": is_nullable(is_text(256)),
        "last_control_at": is_nullable(is_timestamp),
    },
}


# The enums a unit's newer firmware may extend (models.unit_enum).
UNIT_ENUMS = (
    ("thermostat", "hvac_mode"),
    ("thermostat", "preset"),
    ("thermostat", "hvac_action"),
    ("thermostat", "control"),
    ("speaker", "state"),
)


def assert_meets_contract(state: QradState) -> None:
    """The model is what section 4.1 allows, and its wire form is strict JSON."""
    wire = state.to_dict()
    json.dumps(wire, allow_nan=False)
    assert set(wire) == set(CONTRACT)
    for section, fields in CONTRACT.items():
        assert set(wire[section]) == set(fields), section
        for key, check in fields.items():
            assert check(wire[section][key]), f"{section}.{key}: {wire[section][key]!r}"
    if not any(wire[section][key] is None for section, key in UNIT_ENUMS):
        # An unknown value is not sent back as what the unit said: no round trip.
        assert QradState.from_dict(wire) == state


def parse_or_refuse(raw: object) -> QradState | None:
    """Parse, accepting only the documented error; check what was accepted."""
    try:
        state = QradState.from_dict(raw)
    except QradInvalidResponseError:
        return None
    assert_meets_contract(state)
    return state


# QradState.from_dict and to_dict.


@SETTINGS
@given(valid_states)
def test_valid_states_round_trip(raw: dict[str, Any]) -> None:
    """A valid state parses, meets the contract, and gives back its exact wire form."""
    state = QradState.from_dict(raw)
    assert_meets_contract(state)
    assert state.to_dict() == raw


@SETTINGS
@given(json_values)
@example(None)
@example([])
@example({"device": {}})
def test_any_json_is_parsed_or_refused(raw: object) -> None:
    """Arbitrary JSON is refused with the documented error, never a crash."""
    parse_or_refuse(raw)


@SETTINGS
@given(valid_states, st.data())
def test_one_bad_field_is_parsed_or_refused(
    raw: dict[str, Any], data: st.DataObject
) -> None:
    """Any value in any field, a missing field or an extra one: refused or valid."""
    section = data.draw(st.sampled_from(sorted(raw)), label="section")
    key = data.draw(st.sampled_from(sorted(raw[section])), label="field")
    mutated = copy.deepcopy(raw)
    action = data.draw(st.sampled_from(["replace", "delete", "extra"]), label="how")
    if action == "replace":
        mutated[section][key] = data.draw(json_values, label="value")
    elif action == "delete":
        del mutated[section][key]
    else:
        mutated[section]["x_" + key] = data.draw(json_values, label="extra")
    state = parse_or_refuse(mutated)
    if action == "delete":
        assert state is None, f"{section}.{key} is required"
    if action == "extra":
        assert state == QradState.from_dict(raw), "unknown fields are ignored"


# merge_update.


@SETTINGS
@given(json_objects, json_objects)
def test_merge_update_follows_the_rules(
    state: dict[str, Any], changes: dict[str, Any]
) -> None:
    """Objects merge recursively, anything else replaces whole; inputs are untouched."""
    state_before, changes_before = copy.deepcopy(state), copy.deepcopy(changes)
    merged = merge_update(state, changes)
    assert repr(state) == repr(state_before)
    assert repr(changes) == repr(changes_before)
    assert set(merged) == set(state) | set(changes)
    for key, value in merged.items():
        if key not in changes:
            assert value is state[key]
        elif isinstance(changes[key], Mapping) and isinstance(state.get(key), Mapping):
            assert repr(value) == repr(merge_update(state[key], changes[key]))
        else:
            assert value is changes[key]


section_changes = st.sampled_from(sorted(SECTIONS)).flatmap(
    lambda section: st.dictionaries(
        st.sampled_from(sorted(CONTRACT[section])), json_values, max_size=3
    ).map(lambda fields: {section: fields})
)


@SETTINGS
@given(valid_states, st.lists(section_changes, max_size=3))
def test_updates_of_a_valid_state_are_parsed_or_refused(
    raw: dict[str, Any], updates: list[dict[str, Any]]
) -> None:
    """Any update merged into a valid state gives a valid state or is refused."""
    for changes in updates:
        parse_or_refuse(merge_update(raw, changes))


# The event stream's messages.


def stream_of(
    states: list[QradState],
) -> tuple[QradDevice, _Stream]:
    """A stream of a client that no network is needed for, recording its states."""
    device = QradDevice("192.0.2.1", token="token")
    return device, _Stream(device, states.append)


messages = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["snapshot", "update", "heartbeat", "event"])
        | json_values,
        "seq": st.integers(0, 4) | json_values,
    },
    optional={
        "state": json_values | valid_states,
        "changes": json_values | section_changes,
        "time": json_values,
    },
)
frames = st.text() | messages.map(json.dumps) | json_values.map(json.dumps)


@SETTINGS
@given(valid_states, st.lists(frames, max_size=6))
@example(served_state(), ["[" * 100_000])
def test_any_frame_is_applied_or_resyncs(
    raw: dict[str, Any], frame_texts: list[str]
) -> None:
    """After a good snapshot, any frame updates to a valid state, or asks to resync."""
    states: list[QradState] = []
    device, stream = stream_of(states)
    assert stream.handle(json.dumps({"type": "snapshot", "seq": 1, "state": raw}))
    for text in frame_texts:
        kept = device.last_state
        try:
            changed = stream.handle(text)
        except QradError:
            assert device.last_state is kept, "a refused message changes nothing"
            break
        if changed:
            assert device.last_state is states[-1]
            assert_meets_contract(states[-1])
        else:
            assert device.last_state is kept
    assert len(states) >= 1


def valid_changes(new: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """Some fields of another valid state: an update that keeps the state valid."""
    sections = data.draw(st.sets(st.sampled_from(sorted(new)), min_size=1))
    return {
        section: {
            key: new[section][key]
            for key in data.draw(st.sets(st.sampled_from(sorted(new[section]))))
        }
        for section in sections
    }


@SETTINGS
@given(valid_states, st.lists(valid_states, max_size=3), st.data())
def test_valid_updates_are_all_applied(
    raw: dict[str, Any], others: list[dict[str, Any]], data: st.DataObject
) -> None:
    """Consecutive valid updates give the state the merge rules describe."""
    states: list[QradState] = []
    device, stream = stream_of(states)
    stream.handle(json.dumps({"type": "snapshot", "seq": 1, "state": raw}))
    expected = raw
    for seq, other in enumerate(others, start=2):
        changes = valid_changes(other, data)
        expected = merge_update(expected, changes)
        message = {"type": "update", "seq": seq, "changes": changes}
        assert stream.handle(json.dumps(message))
    assert device.last_state == QradState.from_dict(expected)
    assert len(states) == len(others) + 1


# Discovery: parse_txt and check_supported.

GOOD_TXT = {
    "serial": "QR3-00A1B2",
    "model": "Q.rad 3",
    "fw": "3.4.1",
    "api": "1",
    "mac": "02:51:a3:00:a1:b2",
    "name": "Living room",
    "path": "/api/v1",
}
txt_keys = st.sampled_from(sorted(GOOD_TXT)) | st.text(max_size=6)
txt_values = (
    st.text(max_size=70)
    | st.binary(max_size=20)
    | st.none()
    | st.integers()
    | st.from_regex(r"\A[0-9]+\Z")
    | st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=3)
    | semvers.map(lambda v: v + "\n")
)


def assert_valid_discovery(info: DiscoveryInfo) -> None:
    """What parse_txt accepted meets section 2 and is a unit this client speaks to."""
    assert SERIAL.fullmatch(info.serial)
    assert MAC.fullmatch(info.mac)
    assert (match := SEMVER.fullmatch(info.firmware))
    assert tuple(map(int, match.groups())) >= (3, 0, 0)
    assert info.api_version == 1
    assert 1 <= len(info.name) <= 64
    assert 1 <= len(info.model) <= 32


@SETTINGS
@given(st.dictionaries(txt_keys | st.binary(max_size=6), txt_values, max_size=9))
def test_any_txt_record_is_parsed_or_refused(properties: dict[Any, Any]) -> None:
    """Any TXT record, keys and values of any type: refused or a valid announcement."""
    try:
        info = parse_txt(properties)
    except QradInvalidResponseError:
        return
    assert_valid_discovery(info)


@SETTINGS
@given(st.sampled_from(sorted(GOOD_TXT)), txt_values, st.booleans())
@example(key="api", value="²", encode=False)
@example(key="api", value="١", encode=False)  # noqa: RUF001 -- an Arabic-Indic one
@example(key="fw", value="3.4.1\n", encode=False)
@example(key="serial", value="QR3-00A1B2\n", encode=True)
@example(key="fw", value="1" * 5000 + ".0.0", encode=False)
def test_one_bad_txt_value_is_refused(key: str, value: Any, encode: bool) -> None:  # noqa: FBT001
    """A good record with one value replaced (text or bytes): refused, or valid."""
    if encode and isinstance(value, str):
        value = value.encode()
    properties = {**GOOD_TXT, key: value}
    try:
        info = parse_txt(properties)
    except QradInvalidResponseError:
        return
    assert_valid_discovery(info)


txt_records = st.fixed_dictionaries(
    {
        "serial": serials,
        "model": texts(32),
        "fw": st.builds("3.{}.{}".format, st.integers(0, 99), st.integers(0, 99)),
        "api": st.just("1"),
        "mac": macs,
        "name": texts(64),
        "path": st.just("/api/v1"),
    }
)


@SETTINGS
@given(txt_records, st.booleans())
def test_valid_txt_records_are_read(record: dict[str, str], encode: bool) -> None:  # noqa: FBT001
    """Every valid announcement, as text or as bytes, is read back field by field."""
    properties: dict[Any, Any] = (
        {k.encode(): v.encode() for k, v in record.items()} if encode else record
    )
    info = parse_txt(properties)
    assert_valid_discovery(info)
    assert (info.serial, info.mac, info.firmware, info.name, info.model) == (
        record["serial"],
        record["mac"],
        record["fw"],
        record["name"],
        record["model"],
    )


@SETTINGS
@given(st.integers(), st.text(max_size=12) | semvers)
@example(1, "3.0.0")
@example(1, "2.99.99")
@example(1, "9" * 5000 + ".0.0")
def test_check_supported_accepts_only_what_this_client_speaks(
    api_version: int, firmware: str
) -> None:
    """API 1 with firmware 3.0.0 or later passes; anything else is refused, typed."""
    try:
        check_supported(api_version, firmware)
    except QradInvalidResponseError:
        return
    assert api_version == 1
    assert (match := SEMVER.fullmatch(firmware))
    assert tuple(map(int, match.groups())) >= (3, 0, 0)
