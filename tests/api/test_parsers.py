"""Bad payloads fail in one place, with a message naming the field."""

from __future__ import annotations

from collections.abc import Callable
import copy
import math
from typing import Any

import pytest

from custom_components.qrad.api import (
    QradInvalidResponseError,
    QradState,
    QradUnsupportedError,
    check_supported,
    parse_txt,
)
from simulator.clock import Clock
from simulator.device.unit import QradUnitModel
from simulator.identity import make_identities

GOOD_TXT = {
    "serial": "QR3-00A1B2",
    "model": "Q.rad 3",
    "fw": "3.4.1",
    "api": "1",
    "mac": "02:51:a3:00:a1:b2",
    "name": "Living room",
    "path": "/api/v1",
}


def served_state() -> dict[str, Any]:
    """A full state as the emulated Q.rad serves it."""
    identity = make_identities(1, 7)[0]
    return QradUnitModel(identity=identity, clock=Clock(0), seed=7).wire_state()


def test_txt_record_is_read() -> None:
    """Bytes or strings, the announcement becomes DiscoveryInfo."""
    info = parse_txt({key.encode(): value.encode() for key, value in GOOD_TXT.items()})
    assert info.serial == "QR3-00A1B2"
    assert info.api_version == 1


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("serial", "QR3-00a1b2"),
        ("serial", None),
        ("mac", "02-51-a3-00-a1-b2"),
        ("fw", "3.4"),
        ("api", "one"),
    ],
)
def test_bad_txt_record_is_refused(key: str, value: str | None) -> None:
    """A malformed announcement is refused, naming the key."""
    with pytest.raises(QradInvalidResponseError, match=repr(key)):
        parse_txt({**GOOD_TXT, key: value})


@pytest.mark.parametrize(("key", "value"), [("api", "2"), ("fw", "2.9.9")])
def test_unsupported_unit_is_said_so(key: str, value: str) -> None:
    """A unit the client cannot speak to is reported as unsupported."""
    with pytest.raises(QradUnsupportedError):
        parse_txt({**GOOD_TXT, key: value})


def test_served_state_round_trips() -> None:
    """What the emulator serves is valid, and to_dict gives the wire form back."""
    raw = served_state()
    state = QradState.from_dict(raw)
    assert (
        state.to_dict()["thermostat"]["target_temperature"]
        == raw["thermostat"]["target_temperature"]
    )


@pytest.mark.parametrize(
    ("section", "field", "value", "message"),
    [
        ("sensors", "temperature", math.nan, "sensors.temperature must be finite"),
        ("sensors", "temperature", 999.0, "sensors.temperature must be between"),
        ("sensors", "co2_ppm", "650", "sensors.co2_ppm must be an integer"),
        ("thermostat", "hvac_mode", 3, "thermostat.hvac_mode must be text"),
        ("wifi", "clients", {}, "wifi.clients must be a list"),
        ("charger", "phone_present", 1, "charger.phone_present must be true or false"),
    ],
)
def test_bad_state_is_refused(
    section: str, field: str, value: object, message: str
) -> None:
    """Wrong types, NaN and out-of-range values are refused with a clear message."""
    raw = copy.deepcopy(served_state())
    raw[section][field] = value
    with pytest.raises(QradInvalidResponseError, match=message):
        QradState.from_dict(raw)


@pytest.mark.parametrize(
    ("section", "field", "read"),
    [
        ("thermostat", "hvac_mode", lambda state: state.thermostat.hvac_mode),
        ("thermostat", "preset", lambda state: state.thermostat.preset),
        ("thermostat", "hvac_action", lambda state: state.thermostat.hvac_action),
        ("thermostat", "control", lambda state: state.thermostat.control),
        ("speaker", "state", lambda state: state.speaker.state),
    ],
)
def test_an_enum_value_of_a_newer_firmware_reads_as_unknown(
    section: str, field: str, read: Callable[[QradState], object]
) -> None:
    """Section 1: an enum value this client does not know is None, the rest read."""
    raw = copy.deepcopy(served_state())
    raw[section][field] = "invented_by_firmware_4"
    state = QradState.from_dict(raw)
    assert read(state) is None
    assert state.sensors == QradState.from_dict(served_state()).sensors


CLIENT = {
    "mac": "3c:22:fb:10:20:30",
    "name": None,
    "ip": None,
    "signal_dbm": -61,
    "connected_since": "2026-11-25T06:58:12Z",
}


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        pytest.param("meters", "energy_kwh", 10**400, id="huge-integer"),
        pytest.param("compute", "gflops", -(10**400), id="huge-negative-integer"),
        pytest.param("sensors", "temperature", math.inf, id="infinity"),
        pytest.param("speaker", "sources", ["network", 5], id="source-not-a-string"),
        pytest.param("wifi", "clients", [CLIENT] * 33, id="33-clients"),
        pytest.param("device", "serial", "QR3-00A1B2\n", id="serial-newline"),
        pytest.param("device", "mac", "02:51:a3:00:a1:b2\n", id="mac-newline"),
        pytest.param("thermostat", "boost_until", "2026-11-25T07:30:00", id="naive"),
        pytest.param("thermostat", "boost_until", 1764055800, id="unix-time"),
        pytest.param("thermostat", "hvac_action", ["heating"], id="enum-in-a-list"),
        pytest.param("speaker", "media", {"url": "http://x/a.mp3"}, id="media-cut"),
        pytest.param("cloud", "account", "", id="empty-account"),
    ],
)
def test_edge_values_are_refused(section: str, field: str, value: object) -> None:
    """Huge integers, wrong entries, naive times, trailing newlines: refused by name."""
    raw = served_state()
    raw[section][field] = value
    with pytest.raises(QradInvalidResponseError, match=rf"{section}\.{field}"):
        QradState.from_dict(raw)


def test_missing_section_is_refused() -> None:
    """A state without a section names it."""
    raw = served_state()
    del raw["meters"]
    with pytest.raises(QradInvalidResponseError, match=r"state\.meters is missing"):
        QradState.from_dict(raw)


def test_times_and_lists_round_trip() -> None:
    """Timestamps (UTC as Z, other zones kept), media and clients round-trip."""
    raw = served_state()
    raw["thermostat"]["boost_until"] = "2026-11-25T08:30:00Z"
    raw["cloud"]["last_control_at"] = "2026-11-25T09:29:45.250000+02:00"
    raw["speaker"]["media"] = {
        "url": "http://192.168.1.10/radio.mp3",
        "title": None,
        "duration_s": None,
        "position_s": 73.5,
        "position_updated_at": "2026-11-25T07:30:00Z",
    }
    raw["wifi"]["clients"] = [CLIENT]
    assert QradState.from_dict(raw).to_dict() == raw


@pytest.mark.parametrize(
    ("section", "field", "value", "message"),
    [
        ("sensors", "humidity", "43", "must be a number"),
        ("sensors", "humidity", True, "must be a number"),
        ("device", "uptime_s", 1.5, "must be an integer"),
        ("device", "name", "", "must be a string of 1-64 characters"),
    ],
)
def test_wrong_types_are_named(
    section: str, field: str, value: object, message: str
) -> None:
    """Strings or booleans for numbers, floats for integers: refused by name."""
    raw = served_state()
    raw[section][field] = value
    with pytest.raises(QradInvalidResponseError, match=f"{section}.{field} {message}"):
        QradState.from_dict(raw)


def test_txt_record_with_bad_utf8_is_refused() -> None:
    """A TXT value that is not UTF-8 counts as missing."""
    record = {key.encode(): value.encode() for key, value in GOOD_TXT.items()}
    record[b"name"] = b"Living \xff room"
    with pytest.raises(QradInvalidResponseError, match="'name'"):
        parse_txt(record)


@pytest.mark.parametrize(
    "firmware", ["9" * 5000 + ".0.0", "3.4", "v3.4.1", "3.4.1\n", "x" * 5000]
)
def test_malformed_firmware_is_invalid(firmware: str) -> None:
    """A firmware that is not MAJOR.MINOR.PATCH (of sane size) is an invalid answer."""
    with pytest.raises(QradInvalidResponseError, match="malformed") as caught:
        check_supported(1, firmware)
    assert not isinstance(caught.value, QradUnsupportedError)
    assert len(str(caught.value)) < 200
