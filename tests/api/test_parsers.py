"""Bad payloads fail in one place, with a message naming the field."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from custom_components.qrad.api import (
    QradInvalidResponseError,
    QradState,
    QradUnsupportedError,
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
        (
            "thermostat",
            "hvac_mode",
            "cool",
            "thermostat.hvac_mode has an unknown value",
        ),
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


def test_missing_section_is_refused() -> None:
    """A state without a section names it."""
    raw = served_state()
    del raw["meters"]
    with pytest.raises(QradInvalidResponseError, match=r"state\.meters is missing"):
        QradState.from_dict(raw)
