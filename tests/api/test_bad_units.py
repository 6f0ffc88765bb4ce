"""The device client against units that break the protocol as the emulator never does.

Each test serves a tiny fake Q.rad with aiohttp on a loopback port: the client
still talks to it over real sockets, and must turn every oddity into one of
its documented errors (or a resync of the event stream), never crash.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import copy
import itertools
import json
import logging
from typing import Any

from aiohttp import WSCloseCode, web
import pytest

from custom_components.qrad.api import (
    QradBusyError,
    QradDevice,
    QradInvalidResponseError,
    QradRequestError,
    QradState,
    QradUnsupportedError,
)
from custom_components.qrad.api.backoff import Backoff
import custom_components.qrad.api.device as device_module
from simulator.testing import free_port

from .support import Listener, served_state

PREFIX = "/api/v1"
DEVICE_LOGGER = device_module.LOGGER.name
type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def fake_unit(
    routes: dict[tuple[str, str], Handler],
) -> AsyncIterator[QradDevice]:
    """Serve `routes` ((method, path under /api/v1): handler); yield a client."""
    app = web.Application()
    for (method, path), handler in routes.items():
        app.router.add_route(method, PREFIX + path, handler)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with QradDevice("127.0.0.1", port, token="token") as device:
            yield device
    finally:
        await runner.cleanup()


def answer(
    body: bytes | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Handler:
    """A handler that always gives that answer."""

    async def handle(_request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=body, status=status, headers=headers, content_type="application/json"
        )

    return handle


def error_body(code: str, message: str = "no") -> bytes:
    """The protocol's error body (section 3.4)."""
    return json.dumps(
        {"error": {"code": code, "message": message, "field": None}}
    ).encode()


def counted(*handlers: Handler) -> tuple[Handler, list[int]]:
    """A handler that gives the n-th request the n-th handler (the last one after)."""
    calls: list[int] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        calls.append(1)
        return await handlers[min(len(calls), len(handlers)) - 1](request)

    return handle, calls


# HTTP answers.


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html>It works!</html>", id="html"),
        pytest.param(b'{"serial": "QR3-\xff"}', id="not-utf8"),
        pytest.param(b"[" * 100_000, id="nested-too-deep"),
        pytest.param(b'{"target_temperature": 20.0', id="cut-short"),
    ],
)
async def test_answer_that_is_not_json(body: bytes) -> None:
    """An answer that is not JSON is an invalid response, not a crash."""
    async with fake_unit({("GET", "/state"): answer(body)}) as device:
        with pytest.raises(QradInvalidResponseError, match="not JSON"):
            await device.state()


async def test_empty_answer_where_a_state_is_due() -> None:
    """A 204 (or empty 200) where a state is due is an invalid response."""
    async with fake_unit({("GET", "/state"): answer(status=204)}) as device:
        with pytest.raises(QradInvalidResponseError, match="state must be an object"):
            await device.state()


async def test_unit_failure_is_an_invalid_response() -> None:
    """A 500 is the unit's fault: an invalid response with its status and message."""
    body = error_body("internal_error", "flash worn out")
    async with fake_unit({("GET", "/state"): answer(body, 500)}) as device:
        with pytest.raises(QradInvalidResponseError, match=r"500.*flash worn out"):
            await device.state()


@pytest.mark.parametrize(
    ("body", "code"),
    [(None, "unknown"), (b"[]", "unknown"), (error_body("forbidden"), "forbidden")],
)
async def test_refusals_without_the_usual_body(body: bytes | None, code: str) -> None:
    """A 4xx without the protocol's error body is still a request error."""
    async with fake_unit({("PATCH", "/charger"): answer(body, 403)}) as device:
        with pytest.raises(QradRequestError) as caught:
            await device.set_charger(enabled=True)
    assert caught.value.code == code
    assert caught.value.field is None


async def test_unreadable_retry_after_waits_a_second() -> None:
    """A 503 whose Retry-After is not a number is retried after 1 s, and succeeds."""
    state = json.dumps(served_state()).encode()
    handler, calls = counted(
        answer(error_body("busy"), 503, {"Retry-After": "soon"}), answer(state)
    )
    async with fake_unit({("GET", "/state"): handler}) as device:
        await device.state()
    assert len(calls) == 2


@pytest.mark.parametrize(("status", "code"), [(429, "rate_limited"), (503, "busy")])
async def test_retry_after_is_waited_before_the_retry(status: int, code: str) -> None:
    """Section 3.4: the retry comes no sooner than Retry-After, and succeeds."""
    loop = asyncio.get_running_loop()
    arrivals: list[float] = []
    refused = answer(error_body(code), status, {"Retry-After": "1"})
    served = answer(json.dumps(served_state()).encode())

    async def handle(request: web.Request) -> web.StreamResponse:
        arrivals.append(loop.time())
        return await (refused if len(arrivals) == 1 else served)(request)

    async with fake_unit({("GET", "/state"): handle}) as device:
        await device.state()
    assert len(arrivals) == 2
    assert arrivals[1] - arrivals[0] >= 1.0


async def test_endless_rate_limit_is_a_busy_error() -> None:
    """Three 429s in a row give a busy error with the wait the unit asked for."""
    handler, calls = counted(
        answer(error_body("rate_limited"), 429, {"Retry-After": "0.01"})
    )
    async with fake_unit({("GET", "/state"): handler}) as device:
        with pytest.raises(QradBusyError, match="rate_limited") as caught:
            await device.state()
    assert caught.value.retry_after == 0.01
    assert len(calls) == device_module.BUSY_ATTEMPTS


@pytest.mark.parametrize(
    "body",
    [b"{}", b'{"token": 5, "token_id": "0a1b2c3d"}', b'{"token": "t"}', b'"token"'],
)
async def test_pairing_answer_without_a_token(body: bytes) -> None:
    """A pairing answer without a token string is invalid; the client stays unpaired."""
    async with fake_unit({("POST", "/pairing"): answer(body)}) as device:
        device.token = None
        with pytest.raises(QradInvalidResponseError, match="no token"):
            await device.pair("tests")
        assert device.token is None


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"firmware": "3.x"}, QradInvalidResponseError),
        ({"firmware": "10.0.0", "api_version": 1}, None),
        ({"api_version": 0}, QradInvalidResponseError),
        ({"serial": "qr3-00a1b2"}, QradInvalidResponseError),
        ({"api_version": 3}, QradUnsupportedError),
    ],
)
async def test_info_is_validated(
    changes: dict[str, Any], error: type[Exception] | None
) -> None:
    """Malformed identity is invalid; an unknown major version is unsupported."""
    device_state = served_state()["device"]
    info = {
        key: device_state[key]
        for key in ("serial", "name", "model", "firmware", "api_version", "mac")
    } | {"paired": True}
    body = json.dumps(info | changes).encode()
    async with fake_unit({("GET", "/info"): answer(body)}) as device:
        if error is None:
            assert (await device.info()).firmware == changes["firmware"]
        else:
            with pytest.raises(error):
                await device.info()


async def test_write_answer_is_validated() -> None:
    """A write answered with a malformed section is an invalid response."""
    charger = {"enabled": "yes", "phone_present": False, "charging": False}
    body = json.dumps(charger | {"power_w": 0.0}).encode()
    async with fake_unit({("PATCH", "/charger"): answer(body)}) as device:
        with pytest.raises(QradInvalidResponseError, match=r"charger\.enabled"):
            await device.set_charger(enabled=True)


async def test_unknown_fields_in_answers_are_ignored() -> None:
    """Section 1: fields a client does not know, at any depth, change nothing."""
    raw = served_state()
    extended = copy.deepcopy(raw) | {"sauna": {"on": True}}
    extended["thermostat"]["humidity_target"] = 45
    info = {
        key: raw["device"][key]
        for key in ("serial", "name", "model", "firmware", "api_version", "mac")
    } | {"paired": True, "colour": "white"}
    routes: dict[tuple[str, str], Handler] = {
        ("GET", "/state"): answer(json.dumps(extended).encode()),
        ("GET", "/info"): answer(json.dumps(info).encode()),
        ("PATCH", "/charger"): answer(
            json.dumps(raw["charger"] | {"wattage_limit": 15}).encode()
        ),
    }
    async with fake_unit(routes) as device:
        assert await device.state() == QradState.from_dict(raw)
        assert (await device.info()).serial == raw["device"]["serial"]
        assert (await device.set_charger(enabled=True)).enabled is True


async def test_enum_values_of_a_newer_firmware_read_as_unknown() -> None:
    """Section 1: a unit sending values this client does not know stays readable."""
    raw = copy.deepcopy(served_state())
    raw["thermostat"]["hvac_mode"] = "dehumidify"
    raw["speaker"]["state"] = "buffering"
    routes: dict[tuple[str, str], Handler] = {
        ("GET", "/state"): answer(json.dumps(raw).encode()),
    }
    async with fake_unit(routes) as device:
        state = await device.state()
    assert state.thermostat.hvac_mode is None
    assert state.speaker.state is None
    assert state.sensors.temperature == raw["sensors"]["temperature"]


# Event streams.


type Frame = str | bytes | dict[str, Any]


def stream(*frames: Frame, close: int | None = WSCloseCode.OK) -> Handler:
    """An event stream that sends `frames`, then closes (or, with None, stays open)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        for frame in frames:
            if isinstance(frame, bytes):
                await socket.send_bytes(frame)
            else:
                await socket.send_str(
                    frame if isinstance(frame, str) else json.dumps(frame)
                )
        if close is None:
            async for _ in socket:
                pass
        else:
            await socket.close(code=close)
        return socket

    return handle


def snapshot(**thermostat: Any) -> dict[str, Any]:
    """A snapshot message (seq 1), with thermostat fields changed."""
    state = copy.deepcopy(served_state())
    state["thermostat"].update(thermostat)
    return {"type": "snapshot", "seq": 1, "boot_id": "b", "state": state}


def update(seq: int, **thermostat: Any) -> dict[str, Any]:
    """An update message changing thermostat fields."""
    return {"type": "update", "seq": seq, "changes": {"thermostat": thermostat}}


async def test_stream_ignores_unknown_fields() -> None:
    """Unknown fields of a snapshot, an update and a message are ignored (section 1)."""
    first = snapshot()
    first["state"]["thermostat"]["humidity_target"] = 45
    handler = stream(
        first | {"firmware_channel": "beta"},
        {
            "type": "update",
            "seq": 2,
            "changes": {"thermostat": {"target_temperature": 24.0}, "sauna": {}},
            "origin": "button",
        },
        close=None,
    )
    async with (
        fake_unit({("GET", "/events"): handler}) as device,
        Listener(device) as listener,
    ):
        await listener.state_where(lambda s: s.thermostat.target_temperature == 24.0)
    assert listener.connection == [True]


async def test_stream_ignores_what_it_does_not_need() -> None:
    """Heartbeats, events and unknown message types pass; updates still apply."""
    handler = stream(
        snapshot(),
        {"type": "heartbeat", "seq": 2, "time": "2026-11-25T07:30:00Z"},
        {"type": "event", "seq": 3, "event": "phone_placed", "data": {}},
        {"type": "hologram", "seq": 4, "extra": [1, 2]},
        update(5, target_temperature=24.0),
        close=None,
    )
    async with (
        fake_unit({("GET", "/events"): handler}) as device,
        Listener(device) as listener,
    ):
        await listener.state_where(lambda s: s.thermostat.target_temperature == 24.0)
    assert listener.connection == [True]
    assert len(listener.states) == 2


@pytest.mark.usefixtures("fast_reconnect")
@pytest.mark.parametrize(
    ("frames", "log"),
    [
        pytest.param(
            (snapshot(), update(3, target_temperature=24.0)), "after 1", id="seq-gap"
        ),
        pytest.param(
            (snapshot(), {**update(2, target_temperature=24.0), "seq": True}),
            "True after 1",
            id="seq-not-a-number",
        ),
        pytest.param(
            (snapshot(), '{"type": "update", "seq": 2, "changes": {"thermostat": {'),
            "malformed event",
            id="cut-short",
        ),
        pytest.param(
            (snapshot(), update(2, target_temperature=99.0)),
            "thermostat.target_temperature",
            id="out-of-range",
        ),
        pytest.param(
            (snapshot(), {"type": "update", "seq": 2, "changes": [1]}),
            "without state",
            id="changes-not-an-object",
        ),
        pytest.param((snapshot(), b"\x00\x01"), "closed", id="binary-frame"),
        pytest.param((snapshot(), "x" * (5 << 20)), "failed", id="frame-too-big"),
    ],
)
async def test_bad_message_resyncs_and_keeps_the_good_state(
    frames: tuple[Frame, ...], log: str, caplog: pytest.LogCaptureFixture
) -> None:
    """After a bad message the client keeps its last good state and reconnects."""
    caplog.set_level(logging.DEBUG, logger=DEVICE_LOGGER)
    handler = stream(*frames, close=None)
    async with (
        fake_unit({("GET", "/events"): handler}) as device,
        Listener(device) as listener,
    ):
        await listener.connected(times=2)
    assert {s.thermostat.target_temperature for s in listener.states} == {20.0}
    assert listener.connection[:3] == [True, False, True]
    assert log in caplog.text


@pytest.mark.usefixtures("fast_reconnect")
@pytest.mark.parametrize(
    ("first", "log"),
    [
        pytest.param(update(1, target_temperature=24.0), "before the snapshot"),
        pytest.param(snapshot(target_temperature=99.0), "invalid state"),
        pytest.param({**snapshot(), "state": None}, "without state"),
        pytest.param({"seq": 1}, "malformed event"),
    ],
)
async def test_stream_without_a_good_snapshot_never_counts_as_up(
    first: dict[str, Any], log: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Until a valid snapshot arrives, the stream is retried and not reported up."""
    caplog.set_level(logging.WARNING, logger=DEVICE_LOGGER)
    handler, calls = counted(stream(first, update(2, target_temperature=24.0)))
    async with (
        fake_unit({("GET", "/events"): handler}) as device,
        Listener(device) as listener,
    ):
        await listener.until(lambda: len(calls) >= 3)
    assert listener.connection == []
    assert listener.states == []
    assert device.last_state is None
    assert log in caplog.text


@pytest.mark.usefixtures("fast_reconnect")
async def test_stream_refused_then_accepted() -> None:
    """A handshake refused with 503 is retried, not before its Retry-After."""
    loop = asyncio.get_running_loop()
    arrivals: list[float] = []
    busy = answer(error_body("busy"), 503, {"Retry-After": "1"})
    handler, calls = counted(busy, stream(snapshot(), close=None))

    async def timed(request: web.Request) -> web.StreamResponse:
        arrivals.append(loop.time())
        return await handler(request)

    async with (
        fake_unit({("GET", "/events"): timed}) as device,
        Listener(device) as listener,
    ):
        await listener.connected()
    assert len(calls) == 2
    assert listener.connection == [True]
    # The backoff alone (0.05 s in these tests) would have come back sooner.
    assert arrivals[1] - arrivals[0] >= 0.95


async def test_reconnection_backs_off_exponentially_with_jitter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Section 5: waits double from the start to the cap within ±20 %, then reset.

    The unit refuses the stream five times, serves one good stream (its
    snapshot, then a close), refuses once more, then keeps the stream. The
    backoff is scaled down (start 0.1 s, cap 0.8 s); the wait before each new
    attempt is measured by the unit, from one attempt's arrival to the next.
    """
    backoff = device_module.RECONNECT_BACKOFF
    assert (backoff.start_s, backoff.cap_s) == (1.0, 60.0)
    start, cap = 0.1, 0.8
    monkeypatch.setattr(
        device_module, "RECONNECT_BACKOFF", Backoff(start_s=start, cap_s=cap)
    )
    refused = answer(error_body("internal_error"), 500)
    plan = [
        *[refused] * 5,
        stream(snapshot()),
        refused,
        stream(snapshot(), close=None),
    ]
    # After each attempt but the last: doubling, capped, and from the start
    # again after the stream that delivered its snapshot.
    nominal = [start, 2 * start, 4 * start, cap, cap, start, 2 * start]
    # What a busy machine may add to a wait: the refusal's round trip, a new
    # connection, a few turns of the loop. Smaller than what tells the cap and
    # the reset apart (0.8 x 1.6 s - 1.2 x 0.8 s = 0.32 s).
    slack = 0.25
    loop = asyncio.get_running_loop()
    arrivals: list[float] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        arrivals.append(loop.time())
        return await plan[len(arrivals) - 1](request)

    async with (
        fake_unit({("GET", "/events"): handle}) as device,
        Listener(device) as listener,
    ):
        await listener.until(lambda: listener.connection.count(True) == 2, 15)
    assert len(arrivals) == len(plan)
    waits = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    for wait, expected in zip(waits, nominal, strict=True):
        assert 0.8 * expected <= wait <= 1.2 * expected + slack, (waits, nominal)
