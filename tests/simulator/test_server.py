"""The emulated Q.rad keeps the protocol, seen from a raw HTTP/WebSocket client.

These tests do not use the integration's client, so that a mistake shared by
client and emulator cannot hide: they check the wire itself against
docs/protocol.md sections 3, 5 and 7.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
import itertools
import json
from typing import Any
from unittest.mock import ANY

import aiohttp
import pytest

from simulator.clock import Clock
from simulator.device import server as server_module
from simulator.device.server import UnitServer
from simulator.device.unit import QradUnitModel
from simulator.device.validation import ApiError
from simulator.fleet import Fleet, FleetConfig, lan_pool
from simulator.identity import make_identities
from simulator.testing import free_port


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client."""
    async with aiohttp.ClientSession() as session:
        yield session


def auth(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


def origin(unit: UnitServer) -> str:
    """http://host:port of the unit."""
    return f"http://{unit.host}:{unit.port}"


async def pair(http: aiohttp.ClientSession, unit: UnitServer) -> dict[str, str]:
    """Press the button and pair: the token and its id."""
    unit.press_button()
    async with http.post(f"{unit.url}/pairing", json={"client_name": "t"}) as answer:
        assert answer.status == 200
        pairing: dict[str, str] = await answer.json()
        return pairing


async def receive(socket: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next message of an event stream, which must be JSON text."""
    message = await asyncio.wait_for(socket.receive(), 5)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    data: dict[str, Any] = json.loads(message.data)
    return data


async def receive_until(
    socket: aiohttp.ClientWebSocketResponse, kind: str, **fields: Any
) -> list[dict[str, Any]]:
    """Every message up to the first of that type holding those fields (or changes)."""
    received = []
    while True:
        message = await receive(socket)
        received.append(message)
        if message["type"] == kind and all(
            message.get(key) == value
            or _holds(message.get("changes", {}).get(key), value)
            for key, value in fields.items()
        ):
            return received


def _holds(section: object, wanted: object) -> bool:
    return (
        isinstance(section, dict)
        and isinstance(wanted, dict)
        and all(section.get(key) == value for key, value in wanted.items())
    )


# Errors (section 3.4).


NAN_BODY = b'{"target_temperature": NaN}'


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (("GET", "/api/v1/state", None), (401, "invalid_token", None)),
        (("GET", "/api/v1/sauna", None), (404, "not_found", None)),
        (
            ("PUT", "/api/v1/thermostat", {"hvac_mode": "off"}),
            (405, "method_not_allowed", None),
        ),
        (("PATCH", "/api/v1/thermostat", b"{not json"), (400, "invalid_json", None)),
        (("PATCH", "/api/v1/thermostat", b"[20.0]"), (400, "invalid_json", None)),
        (("PATCH", "/api/v1/thermostat", NAN_BODY), (400, "invalid_json", None)),
        (("PATCH", "/api/v1/thermostat", b""), (400, "invalid_json", None)),
        (("POST", "/api/v1/pairing", b""), (400, "invalid_json", None)),
        (
            ("POST", "/api/v1/pairing", {"client_name": "t", "colour": "red"}),
            (400, "unknown_field", "colour"),
        ),
        (
            ("PATCH", "/api/v1/thermostat", {"target": 20}),
            (400, "unknown_field", "target"),
        ),
        (("PATCH", "/api/v1/thermostat", {}), (400, "invalid_value", None)),
        (
            (
                "PATCH",
                "/api/v1/thermostat",
                {"hvac_mode": "off", "target_temperature": 99},
            ),
            (400, "invalid_value", "target_temperature"),
        ),
        (("PATCH", "/api/v1/device", b" " * 17_000), (413, "payload_too_large", None)),
        (
            ("POST", "/api/v1/pairing", {"client_name": "t"}),
            (403, "pairing_window_closed", None),
        ),
        (("DELETE", "/api/v1/pairing/ffffffff", None), (404, "not_found", None)),
        (("POST", "/api/v1/speaker/pause", None), (409, "not_available", None)),
        (
            ("POST", "/_emulator/faults", {"fault": "meltdown"}),
            (400, "invalid_value", "fault"),
        ),
        (
            ("POST", "/_emulator/events", {"event": "party"}),
            (400, "invalid_value", "event"),
        ),
        (
            ("POST", "/_emulator/faults", {"fault": "slow", "delay_s": "long"}),
            (400, "invalid_value", "delay_s"),
        ),
        (
            ("POST", "/_emulator/faults", {"fault": "move", "port": -1}),
            (400, "invalid_value", "port"),
        ),
        (
            ("POST", "/_emulator/faults", {"fault": "move", "host": 7}),
            (400, "invalid_value", "host"),
        ),
        (
            (
                "POST",
                "/_emulator/faults",
                {"fault": "malformed_payloads", "count": 1.5},
            ),
            (400, "invalid_value", "count"),
        ),
        (
            ("POST", "/_emulator/events", {"event": "occupancy", "people": True}),
            (400, "invalid_value", "people"),
        ),
    ],
)
async def test_errors_carry_the_protocol_body(
    qrad_unit: UnitServer,
    qrad_token: str,
    http: aiohttp.ClientSession,
    call: tuple[str, str, dict[str, Any] | bytes | None],
    expected: tuple[int, str, str | None],
) -> None:
    """Every refusal has its status, code, message and field; nothing changes."""
    method, path, body = call
    status, code, field = expected
    before = qrad_unit.unit.wire_state()
    headers = {} if code == "invalid_token" else auth(qrad_token)
    kwargs: dict[str, Any] = (
        {"data": body, "headers": headers | {"Content-Type": "application/json"}}
        if isinstance(body, bytes)
        else {"json": body, "headers": headers}
    )
    async with http.request(method, origin(qrad_unit) + path, **kwargs) as answer:
        assert answer.status == status
        error = (await answer.json())["error"]
    assert set(error) == {"code", "message", "field"}
    assert (error["code"], error["field"]) == (code, field)
    assert isinstance(error["message"], str)
    assert error["message"]
    after = qrad_unit.unit.wire_state()
    assert after["thermostat"] == before["thermostat"]
    assert after["device"]["name"] == before["device"]["name"]
    assert qrad_unit.delay_s == 0


# Every write of section 3.2, with a body it accepts.
WRITES = [
    ("PATCH", "/thermostat", {"hvac_mode": "heat"}),
    ("POST", "/thermostat/boost", {"minutes": 10}),
    ("PATCH", "/power", {"power_limit_w": 400}),
    ("PATCH", "/speaker", {"volume": 0.5}),
    ("POST", "/speaker/play", {"url": "http://music.example/radio.mp3"}),
    ("POST", "/speaker/pause", {}),
    ("POST", "/speaker/resume", {}),
    ("POST", "/speaker/stop", {}),
    ("POST", "/speaker/group", {"members": []}),
    ("PATCH", "/wifi", {"enabled": True}),
    ("PATCH", "/charger", {"enabled": True}),
    ("PATCH", "/device", {"name": "Attic"}),
    ("POST", "/pairing", {"client_name": "t"}),
]
WRITES_WITH_FIELDS = [write for write in WRITES if write[2]]
AUTHENTICATED = [
    ("GET", "/state", None),
    ("DELETE", "/pairing/ffffffff", None),
    ("GET", "/events", None),
    *[write for write in WRITES if write[1] != "/pairing"],
]


def _id(call: tuple[str, str, object]) -> str:
    return f"{call[0]} {call[1]}"


async def refusal(
    http: aiohttp.ClientSession,
    unit: UnitServer,
    call: tuple[str, str, dict[str, Any] | bytes | None],
    token: str | None,
) -> tuple[int, str, str | None]:
    """Send one request to the local API; its status, error code and field."""
    method, path, body = call
    headers = auth(token) if token else {}
    kwargs: dict[str, Any] = (
        {"data": body, "headers": headers | {"Content-Type": "application/json"}}
        if isinstance(body, bytes)
        else {"json": body, "headers": headers}
    )
    async with http.request(method, unit.url + path, **kwargs) as answer:
        error = (await answer.json())["error"]
        return answer.status, error["code"], error["field"]


@pytest.mark.parametrize("write", WRITES, ids=_id)
async def test_every_write_refuses_an_unknown_field(
    qrad_unit: UnitServer,
    qrad_token: str,
    http: aiohttp.ClientSession,
    write: tuple[str, str, dict[str, Any]],
) -> None:
    """Section 1: a typo in any write body is 400 unknown_field; nothing is applied."""
    qrad_unit.press_button()
    tokens = dict(qrad_unit.tokens)
    method, path, body = write
    call = (method, path, {**body, "colour": "red"})
    assert await refusal(http, qrad_unit, call, qrad_token) == (
        400,
        "unknown_field",
        "colour",
    )
    assert not qrad_unit.write_log
    assert qrad_unit.tokens == tokens


@pytest.mark.parametrize("write", WRITES_WITH_FIELDS, ids=_id)
async def test_every_write_refuses_an_empty_body(
    qrad_unit: UnitServer,
    qrad_token: str,
    http: aiohttp.ClientSession,
    write: tuple[str, str, dict[str, Any]],
) -> None:
    """An empty object is invalid_value (3.2); no body at all is not JSON (3.4)."""
    method, path, _ = write
    empty = await refusal(http, qrad_unit, (method, path, {}), qrad_token)
    assert empty[:2] == (400, "invalid_value")
    nothing = await refusal(http, qrad_unit, (method, path, b""), qrad_token)
    assert nothing == (400, "invalid_json", None)
    assert not qrad_unit.write_log


@pytest.mark.parametrize("call", AUTHENTICATED, ids=_id)
async def test_every_authenticated_call_needs_a_valid_token(
    qrad_unit: UnitServer,
    qrad_token: str,
    http: aiohttp.ClientSession,
    call: tuple[str, str, dict[str, Any] | None],
) -> None:
    """Section 3.1: no token, or an unknown one, is 401 invalid_token everywhere."""
    for token in (None, qrad_token[::-1]):
        assert await refusal(http, qrad_unit, call, token) == (
            401,
            "invalid_token",
            None,
        )
    assert not qrad_unit.write_log


async def test_rate_limit_is_per_token(
    qrad_unit: UnitServer, http: aiohttp.ClientSession
) -> None:
    """Beyond a burst of 20 a token gets 429 and Retry-After; another token does not."""
    greedy, patient = (
        (await pair(http, qrad_unit))["token"],
        (await pair(http, qrad_unit))["token"],
    )

    async def get_state(token: str) -> tuple[int, str | None, dict[str, Any]]:
        async with http.get(f"{qrad_unit.url}/state", headers=auth(token)) as answer:
            return answer.status, answer.headers.get("Retry-After"), await answer.json()

    answers = await asyncio.gather(*(get_state(greedy) for _ in range(25)))
    limited = [answer for answer in answers if answer[0] == 429]
    assert len([answer for answer in answers if answer[0] == 200]) >= 20
    assert limited
    for _, retry_after, body in limited:
        assert retry_after is not None
        assert int(retry_after) >= 1
        assert body["error"]["code"] == "rate_limited"
    assert (await get_state(patient))[0] == 200


async def test_busy_while_rebooting(
    qrad_unit: UnitServer, http: aiohttp.ClientSession
) -> None:
    """A rebooting unit answers 503 busy with Retry-After; the bench still answers."""
    await qrad_unit.reboot()
    async with http.get(f"{qrad_unit.url}/info") as answer:
        assert answer.status == 503
        assert int(answer.headers["Retry-After"]) >= 1
        assert (await answer.json())["error"]["code"] == "busy"
    async with http.get(f"{origin(qrad_unit)}/_emulator/debug") as answer:
        assert answer.status == 200


async def test_the_units_page_says_what_it_is(
    qrad_unit: UnitServer, http: aiohttp.ClientSession
) -> None:
    """`GET /` is a page for people: name (as text, never markup), serial, paired."""
    qrad_unit.unit.patch_device({"name": "Tom & <Jerry>"})
    async with http.get(f"{origin(qrad_unit)}/") as answer:
        assert answer.status == 200
        assert answer.content_type == "text/html"
        page = await answer.text()
    assert "<h1>Tom &amp; &lt;Jerry&gt;</h1>" in page
    assert qrad_unit.unit.identity.serial in page
    assert "<th>Paired</th><td>no</td>" in page
    await pair(http, qrad_unit)
    async with http.get(f"{origin(qrad_unit)}/") as answer:
        assert "<th>Paired</th><td>yes</td>" in await answer.text()


# Pairing (section 3.1).


async def test_pairing_window_closes_by_itself(
    qrad_unit: UnitServer, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window opened by the button closes after its time (120 s, here 0.1 s)."""
    monkeypatch.setattr(server_module, "PAIRING_WINDOW_S", 0.1)
    async with http.post(f"{origin(qrad_unit)}/_emulator/button") as answer:
        assert await answer.json() == {"ok": True}
    await asyncio.sleep(0.2)
    async with http.post(
        f"{qrad_unit.url}/pairing", json={"client_name": "late"}
    ) as answer:
        assert answer.status == 403


async def test_the_pairing_window_can_stay_open_or_wait_for_a_press(
    qrad_unit: UnitServer, http: aiohttp.ClientSession
) -> None:
    """Section 7: `auto` holds the window open (a demo), or leaves it to the button."""
    pairing = f"{qrad_unit.url}/pairing"
    control = f"{origin(qrad_unit)}/_emulator/pairing"
    async with http.post(control, json={"auto": True}) as answer:
        assert answer.status == 200
    for name in ("first", "second"):
        async with http.post(pairing, json={"client_name": name}) as answer:
            assert answer.status == 200
    async with http.post(control, json={"auto": False}) as answer:
        assert answer.status == 200
    async with http.post(pairing, json={"client_name": "third"}) as answer:
        assert answer.status == 403
    async with http.post(control, json={"auto": "yes"}) as answer:
        assert answer.status == 400


async def test_a_refused_pairing_leaves_the_press(
    qrad_unit: UnitServer, http: aiohttp.ClientSession
) -> None:
    """A pairing body with an unknown field is refused, and the window stays open."""
    qrad_unit.press_button()
    pairing = f"{qrad_unit.url}/pairing"
    async with http.post(pairing, json={"client_name": "t", "colour": "red"}) as answer:
        assert answer.status == 400
        error = (await answer.json())["error"]
    assert (error["code"], error["field"]) == ("unknown_field", "colour")
    async with http.post(pairing, json={"client_name": "t"}) as answer:
        assert answer.status == 200
        assert len((await answer.json())["token"]) == 43


async def test_a_ninth_pairing_revokes_the_oldest(
    qrad_unit: UnitServer, http: aiohttp.ClientSession
) -> None:
    """A unit keeps 8 tokens; pairing a ninth client revokes the first."""
    pairings = [await pair(http, qrad_unit) for _ in range(9)]
    assert len({p["token"] for p in pairings}) == 9
    assert all(len(p["token"]) == 43 and len(p["token_id"]) == 8 for p in pairings)
    statuses = []
    for pairing in pairings:
        async with http.get(
            f"{qrad_unit.url}/state", headers=auth(pairing["token"])
        ) as answer:
            statuses.append(answer.status)
    assert statuses == [401] + [200] * 8


# Event stream (section 5).


async def test_stream_order_and_events(
    qrad_unit: UnitServer, qrad_token: str, http: aiohttp.ClientSession
) -> None:
    """Snapshot first, then consecutive seq; events come with their state change."""
    async with http.ws_connect(f"{qrad_unit.url}/events?token={qrad_token}") as socket:
        snapshot = await receive(socket)
        assert (snapshot["type"], snapshot["seq"]) == ("snapshot", 1)
        assert snapshot["boot_id"] == snapshot["state"]["device"]["boot_id"]
        await socket.send_str("clients send nothing, and this is ignored")
        messages = [snapshot]

        async def bench(path: str, body: dict[str, Any] | None = None) -> None:
            async with http.post(f"{origin(qrad_unit)}{path}", json=body) as answer:
                assert answer.status == 200

        await bench("/_emulator/button")
        messages += await receive_until(socket, "event", event="button_pressed")
        assert messages[-1]["data"] == {}
        await bench("/_emulator/events", {"event": "phone_placed"})
        messages += await receive_until(socket, "event", event="phone_placed")
        messages += await receive_until(socket, "update", charger={"charging": True})
        mac = "3c:22:fb:01:02:03"
        await bench("/_emulator/events", {"event": "client_join", "mac": mac})
        messages += await receive_until(socket, "event", event="client_joined")
        assert messages[-1]["data"] == {"mac": mac}
        await bench("/_emulator/events", {"event": "client_leave", "mac": mac})
        messages += await receive_until(socket, "event", event="client_left")
        assert messages[-1]["data"] == {"mac": mac}
        messages += await receive_until(socket, "update", wifi={"clients": []})
        async with http.patch(
            f"{qrad_unit.url}/charger",
            json={"enabled": False},
            headers=auth(qrad_token),
        ) as answer:
            assert answer.status == 200
        messages += await receive_until(socket, "update", charger={"enabled": False})
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
    assert all(
        m["type"] in {"snapshot", "update", "heartbeat", "event"} for m in messages
    )


async def test_stream_refuses_a_bad_token_before_the_upgrade(
    qrad_unit: UnitServer, http: aiohttp.ClientSession
) -> None:
    """A bad token gets a plain 401, not a socket."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await http.ws_connect(f"{qrad_unit.url}/events?token=wrong")
    assert caught.value.status == 401


async def test_heartbeats_on_a_quiet_stream(
    http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quiet unit still sends timestamped heartbeats (every 10 s, here 50 ms)."""
    monkeypatch.setattr(server_module, "HEARTBEAT_S", 0.05)
    config = FleetConfig(
        count=1, base_port=free_port(), speed=0, announce=False, auto_pair=True
    )
    async with Fleet(config) as fleet:
        unit = fleet.units[0]
        token = (await pair(http, unit))["token"]
        async with http.ws_connect(f"{unit.url}/events", headers=auth(token)) as socket:
            assert (await receive(socket))["type"] == "snapshot"
            messages = [await receive(socket) for _ in range(2)]
    assert [(m["type"], m["seq"]) for m in messages] == [
        ("heartbeat", 2),
        ("heartbeat", 3),
    ]
    moment = datetime.fromisoformat(messages[0]["time"])
    assert messages[0]["time"].endswith("Z")
    assert moment.utcoffset() is not None


@pytest.mark.parametrize(
    ("how", "code"),
    [("reboot", 1001), ("drop_websocket", 1001), ("revoke_tokens", 4401)],
)
async def test_close_codes(
    qrad_unit: UnitServer,
    qrad_token: str,
    http: aiohttp.ClientSession,
    how: str,
    code: int,
) -> None:
    """Reboots and drops close with 1001 (going away), revoked tokens with 4401."""
    async with http.ws_connect(
        f"{qrad_unit.url}/events", headers=auth(qrad_token)
    ) as socket:
        await receive(socket)
        async with http.post(
            f"{origin(qrad_unit)}/_emulator/faults", json={"fault": how}
        ) as answer:
            assert await answer.json() == {"ok": True}
        while (message := await asyncio.wait_for(socket.receive(), 5)).type is (
            aiohttp.WSMsgType.TEXT
        ):
            pass
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert socket.close_code == code


async def test_revoking_one_token_closes_only_its_streams(
    qrad_unit: UnitServer, http: aiohttp.ClientSession
) -> None:
    """DELETE /pairing/{id} closes that token's streams with 4401, not others'."""
    kept, revoked = await pair(http, qrad_unit), await pair(http, qrad_unit)
    url = f"{qrad_unit.url}/events"
    async with (
        http.ws_connect(url, headers=auth(kept["token"])) as kept_socket,
        http.ws_connect(url, headers=auth(revoked["token"])) as revoked_socket,
    ):
        await receive(kept_socket)
        await receive(revoked_socket)
        async with http.delete(
            f"{qrad_unit.url}/pairing/{revoked['token_id']}",
            headers=auth(kept["token"]),
        ) as answer:
            assert answer.status == 204
        while (await asyncio.wait_for(revoked_socket.receive(), 5)).type is (
            aiohttp.WSMsgType.TEXT
        ):
            pass
        assert revoked_socket.close_code == 4401
        assert not kept_socket.closed


async def test_commands_push_only_what_they_changed(
    qrad_unit: UnitServer, qrad_token: str, http: aiohttp.ClientSession
) -> None:
    """Commands between ticks leave the measured sections at one push a second.

    The room's occupancy changes before every command, so the sensors always
    have something new to push: only the unit's tick may push it.
    """
    loop = asyncio.get_running_loop()
    pushed: dict[str, list[float]] = {}
    command_updates: list[dict[str, Any]] = []

    async def read(socket: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            message = await receive(socket)
            if message["type"] == "update":
                for section in message["changes"]:
                    pushed.setdefault(section, []).append(loop.time())
                if "charger" in message["changes"]:
                    command_updates.append(message["changes"])

    commands = 26
    async with http.ws_connect(
        f"{qrad_unit.url}/events", headers=auth(qrad_token)
    ) as socket:
        assert (await receive(socket))["type"] == "snapshot"
        reader = asyncio.create_task(read(socket))
        for step in range(commands):
            async with http.post(
                f"{origin(qrad_unit)}/_emulator/events",
                json={"event": "occupancy", "people": step % 5},
            ) as answer:
                assert answer.status == 200
            async with http.patch(
                f"{qrad_unit.url}/charger",
                json={"enabled": step % 2 == 1},
                headers=auth(qrad_token),
            ) as answer:
                assert answer.status == 200
            await asyncio.sleep(0.12)
        await asyncio.sleep(0.1)
        reader.cancel()
    assert len(command_updates) == commands
    assert all(set(changes) == {"charger"} for changes in command_updates)
    assert len(pushed["sensors"]) >= 3
    for section, times in pushed.items():
        if section != "charger":
            gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
            # One second a push, less the tick's own scheduling jitter.
            assert all(gap > 0.9 for gap in gaps), (section, gaps)


@pytest.fixture
async def pinging_unit() -> AsyncIterator[UnitServer]:
    """A unit alone (no fleet) that pings every 0.1 s and waits 0.5 s for a pong."""
    identity = make_identities(1, 3)[0]
    model = QradUnitModel(identity=identity, clock=Clock(0), seed=3)
    unit = UnitServer(
        model,
        "127.0.0.1",
        free_port(),
        auto_pair=True,
        ping_interval_s=0.1,
        pong_timeout_s=0.5,
    )
    await unit.start()
    try:
        yield unit
    finally:
        await unit.stop()


async def test_no_pong_closes_the_stream_with_4408(
    pinging_unit: UnitServer, http: aiohttp.ClientSession
) -> None:
    """A client that never answers pings gets a close frame 4408 after the timeout."""
    token = (await pair(http, pinging_unit))["token"]
    loop = asyncio.get_running_loop()
    pings = 0
    async with http.ws_connect(
        f"{pinging_unit.url}/events", headers=auth(token), autoping=False
    ) as socket:
        opened = loop.time()
        while (message := await asyncio.wait_for(socket.receive(), 5)).type in {
            aiohttp.WSMsgType.TEXT,
            aiohttp.WSMsgType.PING,
        }:
            pings += message.type is aiohttp.WSMsgType.PING
        closed = loop.time()
    assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, 4408)
    assert closed - opened >= 0.5
    assert pings >= 2


async def test_pongs_keep_the_stream_open(
    pinging_unit: UnitServer, http: aiohttp.ClientSession
) -> None:
    """A client reading its stream answers pings, and stays past the timeout.

    aiohttp answers a ping while receive() waits, as the integration's client
    always does.
    """
    token = (await pair(http, pinging_unit))["token"]
    async with http.ws_connect(
        f"{pinging_unit.url}/events", headers=auth(token)
    ) as socket:
        assert (await receive(socket))["type"] == "snapshot"
        next_message = asyncio.create_task(receive(socket))
        await asyncio.sleep(1.0)
        assert not next_message.done()
        async with http.patch(
            f"{pinging_unit.url}/charger",
            json={"enabled": False},
            headers=auth(token),
        ) as answer:
            assert answer.status == 200
        assert (await next_message)["changes"] == {"charger": ANY}


# Faults that change where the unit listens (section 7).


async def moved_without_an_address(
    http: aiohttp.ClientSession, unit: UnitServer
) -> tuple[str, int]:
    """`move` without host or port; wait until the unit answers elsewhere."""
    old = (unit.host, unit.port)
    async with http.post(
        f"{origin(unit)}/_emulator/faults", json={"fault": "move"}
    ) as answer:
        assert await answer.json() == {"ok": True}
    async with asyncio.timeout(5):
        while (unit.host, unit.port) == old or unit._runner is None:
            await asyncio.sleep(0.01)
    with pytest.raises(aiohttp.ClientConnectionError):
        await http.get(f"http://{old[0]}:{old[1]}/api/v1/info")
    async with http.get(f"{unit.url}/info") as answer:
        assert (await answer.json())["serial"] == unit.unit.identity.serial
    return old


async def test_move_without_an_address_takes_another_of_the_lan(
    qrad_fleet: Fleet, http: aiohttp.ClientSession
) -> None:
    """A fleet's unit moves to a free address of its LAN, or another loopback port."""
    unit = qrad_fleet.units[0]
    old_host, old_port = await moved_without_an_address(http, unit)
    if lan_pool():
        assert (unit.host, unit.port) == (lan_pool()[1], old_port)
    else:
        assert (unit.host, unit.port) != (old_host, old_port)


async def test_move_without_an_address_alone_takes_another_port(
    pinging_unit: UnitServer, http: aiohttp.ClientSession
) -> None:
    """A unit outside a fleet knows only its own address: it takes another port."""
    old_host, old_port = await moved_without_an_address(http, pinging_unit)
    assert pinging_unit.host == old_host
    assert pinging_unit.port != old_port


async def test_occupancy_is_held_until_given_back_to_the_household(
    qrad_unit: UnitServer, http: aiohttp.ClientSession
) -> None:
    """A test empties a room; `people: null` brings its household's hours back."""
    unit = qrad_unit.unit
    household = unit.people_in(unit.clock.now())
    held = household + 3
    for body, expected in (({"people": held}, held), ({"people": None}, household)):
        async with http.post(
            f"{origin(qrad_unit)}/_emulator/events", json={"event": "occupancy", **body}
        ) as answer:
            assert answer.status == 200
        assert unit.people == expected


async def test_refused_port_stays_closed_once_stopped(qrad_unit: UnitServer) -> None:
    """A unit stopped while it refuses connections does not start listening again."""
    await qrad_unit.refuse_connections(0.2)
    await qrad_unit.stop()
    await asyncio.sleep(0.4)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"{qrad_unit.url}/info")


async def test_announcement_ends_and_gives_the_music_back(
    qrad_unit: UnitServer,
) -> None:
    """After its few seconds, an announcement restores what was playing.

    However long a tick (an accelerated clock), it is heard for one whole tick,
    so that the members of a group, polling their leader, hear it too.
    """
    model = qrad_unit.unit
    model.play({"url": "http://music.example/radio.mp3"})
    model.play({"url": "http://tts.example/hello.mp3", "announce": True})
    assert model.speaker.announcing
    model.step(60.0)
    assert model.speaker.announcing
    model.step(1.0)
    assert not model.speaker.announcing
    assert model.speaker.media is not None
    assert model.speaker.media.url == "http://music.example/radio.mp3"
    assert model.speaker.state == "playing"


@pytest.mark.parametrize(
    ("writer", "body"),
    [
        ("patch_thermostat", {"hvac_mode": None}),
        ("patch_thermostat", {"preset": None}),
        ("patch_wifi", {"passphrase": "\x01" * 8}),
    ],
)
def test_null_modes_and_unprintable_passphrases_are_refused(
    qrad_unit: UnitServer, writer: str, body: dict[str, object]
) -> None:
    """A write that would silently do nothing, or store garbage, is a 400."""
    with pytest.raises(ApiError) as refused:
        getattr(qrad_unit.unit, writer)(body)
    assert refused.value.status == 400
