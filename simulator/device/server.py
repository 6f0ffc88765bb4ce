"""The network face of one emulated Q.rad: its local API and its event streams.

Everything here follows docs/protocol.md sections 3 and 5: pairing, the routes
of 3.2 (each section of the unit in unit.py validates its own writes), the
errors of 3.4 and the pushes of 5. The server also fails as a real unit does
(it reboots, moves, drops its streams); the emulator's own routes, which make
it do so, are in emulator.py.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Awaitable, Callable
import contextlib
import html
import json
import logging
import secrets
import socket
import time
from typing import Any

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

from simulator.clock import iso

from .emulator import EmulatorControl
from .unit import QradUnitModel
from .validation import MAX_BODY, ApiError, json_body, refuse_unknown_fields

LOGGER = logging.getLogger(__name__)

PREFIX = "/api/v1"
PAIRING_WINDOW_S = 120.0
MAX_TOKENS = 8
RATE_PER_S = 10.0
RATE_BURST = 20.0
HEARTBEAT_S = 10.0
# Section 5: a ping every 10 s; a stream with no pong for 30 s is closed, 4408.
PING_INTERVAL_S = 10.0
PONG_TIMEOUT_S = 30.0
REBOOT_BUSY_S = 3.0
CLOSE_TOKEN_REFUSED = 4401
CLOSE_NO_PONG = 4408
WRITE_LOG_SIZE = 200
# A speaker-group member reads its leader's stream this often (real seconds).
FOLLOW_POLL_S = 0.25
FOLLOW_TIMEOUT_S = 2.0
type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_STREAM_ENDED = {
    WSMsgType.CLOSE,
    WSMsgType.CLOSING,
    WSMsgType.CLOSED,
    WSMsgType.ERROR,
}


def error_response(error: ApiError, retry_after: float | None = None) -> web.Response:
    """The protocol's error body (section 3.4)."""
    headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after else None
    return web.json_response(
        {"error": {"code": error.code, "message": error.message, "field": error.field}},
        status=error.status,
        headers=headers,
    )


class _Bucket:
    """A token bucket: RATE_PER_S requests per second, RATE_BURST at once."""

    def __init__(self) -> None:
        self.level = RATE_BURST
        self.updated = time.monotonic()

    def take(self) -> float | None:
        """Take one request; return how long to wait if the bucket is empty."""
        now = time.monotonic()
        self.level = min(RATE_BURST, self.level + (now - self.updated) * RATE_PER_S)
        self.updated = now
        if self.level >= 1.0:
            self.level -= 1.0
            return None
        return (1.0 - self.level) / RATE_PER_S


class _Subscriber:
    """One open event stream, with its own sequence numbers and baseline."""

    def __init__(
        self, socket: web.WebSocketResponse, token: str, state: dict[str, Any]
    ) -> None:
        self.socket = socket
        self.token = token
        self.seq = 0
        # The state as this stream last heard it: its updates are diffs of it.
        self.seen = state

    async def send(self, message: dict[str, Any], *, garble: bool = False) -> None:
        self.seq += 1
        text = json.dumps({**message, "seq": self.seq})
        await self.socket.send_str(text[: len(text) // 2] if garble else text)


class UnitServer:
    """Serves one unit's API on its own address and port."""

    def __init__(
        self,
        unit: QradUnitModel,
        host: str,
        port: int,
        *,
        auto_pair: bool = False,
        ping_interval_s: float = PING_INTERVAL_S,
        pong_timeout_s: float = PONG_TIMEOUT_S,
    ) -> None:
        """Serve `unit` on host:port; with auto_pair the pairing window never closes.

        The ping interval and pong timeout are the protocol's unless a test
        shortens them, so that a dead link is seen in well under 30 s.
        """
        self.unit = unit
        self.host = host
        self.port = port
        self.auto_pair = auto_pair
        self.ping_interval_s = ping_interval_s
        self.pong_timeout_s = pong_timeout_s
        self.tokens: dict[str, str] = {}
        self.pairing_until = 0.0
        self.delay_s = 0.0
        self.busy_until = 0.0
        self.garble_next = 0
        self.out_of_range_next = 0
        self.on_moved: Callable[[UnitServer], Awaitable[None]] | None = None
        self.on_renamed: Callable[[UnitServer], Awaitable[None]] | None = None
        # Where a `move` without host and port goes (a fleet offers its LAN's).
        self.free_address: Callable[[], tuple[str, int]] = self._another_port
        self._buckets: dict[str, _Bucket] = {}
        # Requests to the local API by "METHOD path", for tests (GET /_emulator/debug).
        self.requests: Counter[str] = Counter()
        # The last writes applied, in order (bodies without secrets).
        self.write_log: deque[dict[str, Any]] = deque(maxlen=WRITE_LOG_SIZE)
        # The emulator's own routes (section 7), served beside the protocol's.
        self.emulator = EmulatorControl(self)
        self._subscribers: set[_Subscriber] = set()
        self._runner: web.AppRunner | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._restart: asyncio.TimerHandle | None = None
        self._background: set[asyncio.Future[None]] = set()
        self._follower: asyncio.Future[None] | None = None

    # Life cycle.

    async def start(self) -> None:
        """Listen on host:port and start the heartbeats."""
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._middleware])
        app.add_routes(self._routes())
        app.add_routes(self.emulator.routes())
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(
            self._runner, self.host, self.port, reuse_address=True
        ).start()
        if self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._heartbeats())

    async def stop(self) -> None:
        """Close every stream and stop listening (for good: no pending restart)."""
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
            self._follower = None
        if self._restart is not None:
            self._restart.cancel()
            self._restart = None
        # A move, a re-announcement or a restart still under way ends here.
        for task in list(self._background):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        await self._close_streams(WSCloseCode.GOING_AWAY)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """Base URL of the unit's API."""
        return f"http://{self.host}:{self.port}{PREFIX}"

    # Pushing changes.

    async def publish(self) -> None:
        """Push to each stream everything it has not heard yet (the unit's tick).

        Only the tick pushes what the unit measures, so sensors go out at most
        once a second (section 5) however many commands come in between.
        """
        if self._subscribers:
            state = self.unit.wire_state()
            await self._push(lambda seen: _diff(seen, state))

    async def push_section(
        self, section: str, before: dict[str, Any]
    ) -> dict[str, Any]:
        """Push at once what a command or event changed in `section`; return it.

        Only the fields that differ from `before` (the section just before the
        change) go out: what the unit measured meanwhile waits for its tick.
        """
        after: dict[str, Any] = self.unit.wire_state()[section]
        changed = {
            key: value for key, value in after.items() if before.get(key) != value
        }
        if changed:
            await self._push(lambda _seen: {section: changed})
        return after

    async def _push(
        self, changes_for: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        """Send each stream, as one update, its changes (from what it has seen)."""
        updates = [
            (subscriber, changes)
            for subscriber in list(self._subscribers)
            if (changes := changes_for(subscriber.seen))
        ]
        if not updates:
            return
        # A fault spoils the next update, whoever receives it.
        out_of_range = self.out_of_range_next > 0
        if out_of_range:
            self.out_of_range_next -= 1
        garble = self.garble_next > 0
        if garble:
            self.garble_next -= 1
        for subscriber, changes in updates:
            for section, fields in changes.items():
                subscriber.seen[section].update(fields)
            sent = changes
            if out_of_range:
                sensors = {**changes.get("sensors", {}), "temperature": 999.0}
                sent = {**changes, "sensors": sensors}
            update = {"type": "update", "changes": sent}
            await self._send(subscriber, update, garble=garble)

    async def send_event(self, event: str, data: dict[str, Any]) -> None:
        """A momentary event; the state change with it follows as an update."""
        await self._broadcast({"type": "event", "event": event, "data": data})

    async def _broadcast(self, message: dict[str, Any]) -> None:
        for subscriber in list(self._subscribers):
            await self._send(subscriber, message)

    async def _send(
        self, subscriber: _Subscriber, message: dict[str, Any], *, garble: bool = False
    ) -> None:
        try:
            await subscriber.send(message, garble=garble)
        except ConnectionError, RuntimeError:
            self._subscribers.discard(subscriber)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            await self._broadcast(
                {"type": "heartbeat", "time": iso(self.unit.clock.now())}
            )

    async def _close_streams(self, code: int, token: str | None = None) -> None:
        for subscriber in list(self._subscribers):
            if token is None or subscriber.token == token:
                self._subscribers.discard(subscriber)
                await subscriber.socket.close(code=code)

    def press_button(self) -> None:
        """The owner presses the button: the pairing window opens (section 3.1)."""
        self.pairing_until = time.monotonic() + PAIRING_WINDOW_S

    # Faults: what a real unit lives through (the emulator's routes inject them).

    async def drop_streams(self) -> None:
        """Close every event stream, as a flaky network would."""
        await self._close_streams(WSCloseCode.GOING_AWAY)

    async def reboot(self) -> None:
        """Reboot: new boot id, streams closed, busy for a few seconds, state kept."""
        self.unit.reboot()
        self.busy_until = time.monotonic() + REBOOT_BUSY_S
        await self._close_streams(WSCloseCode.GOING_AWAY)

    async def revoke_tokens(self) -> None:
        """Forget every token; open streams are closed with 4401."""
        self.tokens.clear()
        await self._close_streams(CLOSE_TOKEN_REFUSED)

    async def refuse_connections(self, seconds: float) -> None:
        """Stop listening for a while."""
        if self._runner is not None:
            await self._close_streams(WSCloseCode.GOING_AWAY)
            await self._runner.cleanup()
            self._runner = None
        if self._restart is not None:
            self._restart.cancel()
        self._restart = asyncio.get_running_loop().call_later(
            seconds, self.in_background, self._listen_again
        )

    async def _listen_again(self) -> None:
        self._restart = None
        await self.start()

    def in_background(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` after the current answer is sent, keeping the task alive."""
        task = asyncio.ensure_future(work())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _another_port(self) -> tuple[str, int]:
        """Another port of the unit's own address (a unit outside a fleet)."""
        return self.host, free_port(self.host)

    async def move(self, host: str, port: int) -> None:
        """Move to another address or port, and re-announce there."""
        await self._close_streams(WSCloseCode.GOING_AWAY)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.host, self.port = host, port
        await self.start()
        if self.on_moved is not None:
            await self.on_moved(self)

    # HTTP.

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        if request.path.startswith(PREFIX):
            self.requests[f"{request.method} {request.path}"] += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if request.path.startswith(PREFIX) and time.monotonic() < self.busy_until:
            busy = ApiError(503, "busy", "the Q.rad is booting")
            return error_response(busy, self.busy_until - time.monotonic())
        try:
            return await handler(request)
        except ApiError as error:
            return error_response(error)
        except web.HTTPRequestEntityTooLarge:
            return error_response(
                ApiError(413, "payload_too_large", "the body is over 16 KiB")
            )
        except web.HTTPNotFound:
            return error_response(
                ApiError(404, "not_found", f"no such path: {request.path}")
            )
        except web.HTTPMethodNotAllowed:
            return error_response(
                ApiError(
                    405, "method_not_allowed", f"{request.method} is not allowed here"
                )
            )

    def _routes(self) -> list[web.RouteDef]:
        api = PREFIX
        unit, speaker = self.unit, self.unit.speaker
        return [
            web.get("/", self._page),
            web.get(f"{api}/info", self._info),
            web.post(f"{api}/pairing", self._pair),
            web.delete(f"{api}/pairing/{{token_id}}", self._authed(self._revoke)),
            web.get(f"{api}/state", self._authed(self._state)),
            web.patch(
                f"{api}/thermostat", self._write(unit.patch_thermostat, "thermostat")
            ),
            web.post(
                f"{api}/thermostat/boost", self._write(unit.post_boost, "thermostat")
            ),
            web.patch(f"{api}/power", self._write(unit.patch_power, "power")),
            web.patch(f"{api}/speaker", self._write(speaker.patch, "speaker")),
            web.post(f"{api}/speaker/play", self._write(speaker.play, "speaker")),
            web.post(
                f"{api}/speaker/pause",
                self._write(lambda _: speaker.pause(), "speaker", body=False),
            ),
            web.post(
                f"{api}/speaker/resume",
                self._write(lambda _: speaker.resume(), "speaker", body=False),
            ),
            web.post(
                f"{api}/speaker/stop",
                self._write(lambda _: speaker.stop(), "speaker", body=False),
            ),
            web.post(f"{api}/speaker/group", self._write(self._group, "speaker")),
            web.get(f"{api}/speaker/stream", self._stream),
            web.patch(f"{api}/wifi", self._write(unit.wifi.patch, "wifi")),
            web.patch(f"{api}/charger", self._write(unit.charger.patch, "charger")),
            web.patch(f"{api}/device", self._write(self._rename, "device")),
            web.get(f"{api}/events", self._events),
        ]

    def _check_token(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        token = (
            header.removeprefix("Bearer ").strip()
            if header.startswith("Bearer ")
            else request.query.get("token", "")
        )
        if not token or token not in self.tokens.values():
            raise ApiError(401, "invalid_token", "missing, unknown or revoked token")
        if (wait := self._buckets.setdefault(token, _Bucket()).take()) is not None:
            raise _RateLimitedError(wait)
        return token

    def _authed(self, handler: Handler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            try:
                self._check_token(request)
            except _RateLimitedError as limited:
                return error_response(
                    ApiError(429, "rate_limited", "too many requests"), limited.wait
                )
            return await handler(request)

        return checked

    def _write(
        self,
        apply: Callable[[dict[str, Any]], None],
        section: str,
        *,
        body: bool = True,
    ) -> Handler:
        async def write(request: web.Request) -> web.StreamResponse:
            if body:
                payload = await json_body(request)
            else:
                # No body is needed; one holding fields is refused (section 1).
                payload = await json_body(request) if await request.read() else {}
                refuse_unknown_fields(payload, set())
            before = self.unit.wire_state()[section]
            apply(payload)
            self.write_log.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "body": {
                        key: "***" if key == "passphrase" else value
                        for key, value in payload.items()
                    },
                }
            )
            return web.json_response(await self.push_section(section, before))

        return self._authed(write)

    def _group(self, body: dict[str, Any]) -> None:
        """Lead, follow or leave a speaker group; a member polls its leader."""
        self.unit.speaker.post_group(body)
        self._keep_following()

    def _keep_following(self) -> None:
        if self.unit.speaker.following and (
            self._follower is None or self._follower.done()
        ):
            self._follower = asyncio.ensure_future(self._follow())

    async def _follow(self) -> None:
        """A member's side: read the leader's stream and play along, until it ends."""
        timeout = aiohttp.ClientTimeout(total=FOLLOW_TIMEOUT_S)
        speaker = self.unit.speaker
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while (group := speaker.group) is not None and group.role == "member":
                assert group.leader_address is not None
                host, port = group.leader_address
                url = f"http://{host}:{port}{PREFIX}/speaker/stream"
                before = self.unit.wire_state()["speaker"]
                try:
                    async with session.get(url, params={"group_id": group.id}) as got:
                        if got.status == 404 and speaker.group is group:
                            # The leader no longer has this group: it is over.
                            speaker.leave_group()
                        elif got.status == 200 and speaker.group is group:
                            speaker.follow(await got.json())
                except (aiohttp.ClientError, TimeoutError, ValueError) as err:
                    LOGGER.debug("%s: leader unreachable: %s", self.unit.name, err)
                await self.push_section("speaker", before)
                await asyncio.sleep(FOLLOW_POLL_S)

    async def _stream(self, request: web.Request) -> web.Response:
        """A leader's playback for its members; the group id is the credential."""
        return web.json_response(
            self.unit.speaker.group_stream(
                request.query.get("group_id", ""), self.unit.clock.now()
            )
        )

    def _rename(self, body: dict[str, Any]) -> None:
        self.unit.patch_device(body)
        if self.on_renamed is not None:
            on_renamed = self.on_renamed
            self.in_background(lambda: on_renamed(self))

    async def _info(self, _request: web.Request) -> web.Response:
        device = self.unit.wire_state()["device"]
        keys = ("serial", "model", "name", "firmware", "api_version", "mac")
        return web.json_response(
            {key: device[key] for key in keys} | {"paired": bool(self.tokens)}
        )

    async def _page(self, _request: web.Request) -> web.Response:
        device = self.unit.wire_state()["device"]
        rows = (
            ("Model", device["model"]),
            ("Serial", device["serial"]),
            ("Firmware", device["firmware"]),
            ("Paired", "yes" if self.tokens else "no"),
        )
        cells = "".join(
            f"<tr><th>{label}</th><td>{html.escape(value)}</td></tr>"
            for label, value in rows
        )
        name = html.escape(device["name"])
        return web.Response(
            text=(
                f'<!doctype html><html lang="en"><meta charset="utf-8">'
                f"<title>{name}</title><h1>{name}</h1><table>{cells}</table>"
                "<p>Settings are made from Home Assistant.</p></html>"
            ),
            content_type="text/html",
        )

    async def _pair(self, request: web.Request) -> web.Response:
        # The whole body is checked before the window: a refused request
        # leaves the press for the next one.
        body = await json_body(request)
        refuse_unknown_fields(body, {"client_name"})
        name = body.get("client_name")
        if not isinstance(name, str) or not 1 <= len(name) <= 64:
            raise ApiError(
                400,
                "invalid_value",
                "client_name must be 1-64 characters",
                "client_name",
            )
        if not self.auto_pair and time.monotonic() > self.pairing_until:
            raise ApiError(
                403, "pairing_window_closed", "press the Q.rad's button first"
            )
        self.pairing_until = 0.0
        if len(self.tokens) >= MAX_TOKENS:
            del self.tokens[next(iter(self.tokens))]
        token_id, token = secrets.token_hex(4), secrets.token_urlsafe(32)
        self.tokens[token_id] = token
        return web.json_response({"token": token, "token_id": token_id})

    async def _revoke(self, request: web.Request) -> web.Response:
        token = self.tokens.pop(request.match_info["token_id"], None)
        if token is None:
            raise ApiError(404, "not_found", "no such token")
        await self._close_streams(CLOSE_TOKEN_REFUSED, token)
        return web.Response(status=204)

    async def _state(self, _request: web.Request) -> web.Response:
        return web.json_response(self.unit.wire_state())

    async def _events(self, request: web.Request) -> web.StreamResponse:
        try:
            token = self._check_token(request)
        except _RateLimitedError as limited:
            return error_response(
                ApiError(429, "rate_limited", "too many requests"), limited.wait
            )
        # Pongs are seen here (autoping would swallow them); pings answered.
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        # A stream's own baseline: its fresh snapshot pushes nothing to others.
        state = self.unit.wire_state()
        subscriber = _Subscriber(ws, token, state)
        await subscriber.send(
            {"type": "snapshot", "boot_id": self.unit.boot_id, "state": state}
        )
        self._subscribers.add(subscriber)
        try:
            await self._read_until_closed(subscriber)
        finally:
            self._subscribers.discard(subscriber)
        return ws

    async def _read_until_closed(self, subscriber: _Subscriber) -> None:
        """Ping the client, and close with 4408 once no pong came for the timeout.

        Clients send nothing else the protocol needs: their frames are ignored.
        """
        loop = asyncio.get_running_loop()
        ws = subscriber.socket
        last_pong = loop.time()
        next_ping = last_pong + self.ping_interval_s
        while True:
            now = loop.time()
            if now >= last_pong + self.pong_timeout_s:
                self._subscribers.discard(subscriber)
                await ws.close(code=CLOSE_NO_PONG, message=b"no pong")
                return
            if now >= next_ping:
                with contextlib.suppress(ConnectionError):
                    await ws.ping()
                next_ping = now + self.ping_interval_s
            wait = min(next_ping, last_pong + self.pong_timeout_s) - now
            try:
                # A timeout of 0 would mean none at all.
                message = await ws.receive(timeout=max(wait, 0.001))
            except TimeoutError:
                continue
            if message.type in _STREAM_ENDED:
                return
            if message.type is WSMsgType.PING:
                await ws.pong(message.data)
            elif message.type is WSMsgType.PONG:
                last_pong = loop.time()


class _RateLimitedError(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__("rate limited")
        self.wait = wait


def free_port(host: str) -> int:
    """A port of `host` that nothing listens on now (the system picks it)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Per section, the fields whose value changed (lists and nested objects whole)."""
    changes: dict[str, Any] = {}
    for section, values in new.items():
        before = old.get(section, {})
        changed = {
            key: value for key, value in values.items() if before.get(key) != value
        }
        if changed:
            changes[section] = changed
    return changes
