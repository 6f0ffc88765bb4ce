"""Fuzzing the emulated Q.rad's HTTP API: any body gets a clear answer, never a crash.

Hypothesis sends malformed JSON, wrong types, huge and non-finite numbers,
unicode and oversize bodies to every write endpoint, with and without a valid
token. Each answer must be a success or a protocol error body (section 3.4),
never a 500, and the unit must go on serving.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import json
import threading
from typing import Any
import urllib.error
import urllib.request

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
import pytest_socket

from simulator.device import server
from simulator.fleet import Fleet, FleetConfig
from simulator.testing import free_port

WRITES = [
    ("PATCH", "/thermostat"),
    ("POST", "/thermostat/boost"),
    ("PATCH", "/speaker"),
    ("POST", "/speaker/play"),
    ("PATCH", "/wifi"),
    ("PATCH", "/charger"),
    ("PATCH", "/device"),
    ("POST", "/pairing"),
]
PROTOCOL_STATUSES = {200, 400, 401, 404, 405, 409, 413, 415, 429, 503}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "target_temperature",
        "hvac_mode",
        "preset",
        "preset_temperatures",
        "minutes",
        "delta",
        "volume",
        "muted",
        "source",
        "power",
        "url",
        "title",
        "announce",
        "enabled",
        "ssid",
        "passphrase",
        "name",
        "client_name",
    ]
)
bodies = st.one_of(
    st.dictionaries(field_names, json_values, max_size=4).map(json.dumps),
    json_values.map(json.dumps),
    st.sampled_from(
        [
            '{"target_temperature": NaN}',
            '{"target_temperature": Infinity}',
            '{"target_temperature": 1e400}',
            "{",
            "",
            "\ud800",
            '{"name": "' + "é" * 70 + '"}',
            '{"url": "http://x/' + "a" * 3000 + '"}',
            "x" * 20_000,
        ]
    ),
)


@pytest.fixture(scope="module")
def unit_url(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """One emulated Q.rad in a thread of its own; its URL and a valid token."""
    # Module fixtures run before the per-test socket permission of conftest.py.
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1", "172.30.0.0/16"])
    # The rate limit has its own tests; here every request must reach validation.
    monkeypatch_module.setattr(server, "RATE_PER_S", 1e9)
    monkeypatch_module.setattr(server, "RATE_BURST", 1e9)
    ready = threading.Event()
    stop: asyncio.Event | None = None
    loop = asyncio.new_event_loop()
    found: dict[str, str] = {}

    async def serve() -> None:
        nonlocal stop
        stop = asyncio.Event()
        fleet = Fleet(FleetConfig(count=1, base_port=free_port(), announce=False))
        async with fleet:
            unit = fleet.units[0]
            unit.press_button()
            found["url"] = unit.url
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    assert ready.wait(20)
    token = _call("POST", found["url"] + "/pairing", '{"client_name": "fuzz"}')[1]
    yield found["url"], json.loads(token)["token"]
    assert stop is not None
    loop.call_soon_threadsafe(stop.set)
    thread.join(20)
    loop.close()


def _call(
    method: str, url: str, body: str, token: str | None = None
) -> tuple[int, str]:
    data = body.encode("utf-8", "surrogatepass")
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    """A monkeypatch that lasts for the module."""
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(
    write=st.sampled_from(WRITES),
    body=bodies,
    with_token=st.booleans(),
)
def test_any_body_gets_a_protocol_answer(
    unit_url: tuple[str, str],
    write: tuple[str, str],
    body: str,
    *,
    with_token: bool,
) -> None:
    """Success or a 4xx error body naming what is wrong; never a 500."""
    url, token = unit_url
    method, path = write
    status, text = _call(method, url + path, body, token if with_token else None)
    assert status in PROTOCOL_STATUSES - {429}, (status, text)
    if status != 200:
        error: Any = json.loads(text)["error"]
        assert isinstance(error["code"], str)
        assert error["message"]
    health, _ = _call("GET", url + "/info", "")
    assert health == 200
