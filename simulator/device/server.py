"""The network face of one emulated Q.rad: its local API, event stream and fault hooks.

Everything here follows docs/protocol.md sections 3, 5 and 7; the model in
unit.py owns the state and the rules.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Awaitable, Callable
import contextlib
import json
import logging
import math
import secrets
import time
from typing import Any

import aiohttp
from aiohttp import WSCloseCode, web

from simulator.clock import iso

from .unit import ApiError, QradUnitModel

LOGGER = logging.getLogger(__name__)

PREFIX = "/api/v1"
MAX_BODY = 16 * 1024
PAIRING_WINDOW_S = 120.0
MAX_TOKENS = 8
RATE_PER_S = 10.0
RATE_BURST = 20.0
HEARTBEAT_S = 10.0
REBOOT_BUSY_S = 3.0
CLOSE_TOKEN_REFUSED = 4401
WRITE_LOG_SIZE = 200
# A speaker-group member reads its leader's stream this often (real seconds).
FOLLOW_POLL_S = 0.25
FOLLOW_TIMEOUT_S = 2.0
type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
    """One open event stream, with its own sequence numbers."""

    def __init__(self, socket: web.WebSocketResponse, token: str) -> None:
        self.socket = socket
        self.token = token
        self.seq = 0

    async def send(self, message: dict[str, Any], *, garble: bool = False) -> None:
        self.seq += 1
        text = json.dumps({**message, "seq": self.seq})
        await self.socket.send_str(text[: len(text) // 2] if garble else text)


class UnitServer:
    """Serves one unit's API on its own address and port."""

    def __init__(
        self, unit: QradUnitModel, host: str, port: int, *, auto_pair: bool = False
    ) -> None:
        """Serve `unit` on host:port; with auto_pair the pairing window never closes."""
        self.unit = unit
        self.host = host
        self.port = port
        self.auto_pair = auto_pair
        self.tokens: dict[str, str] = {}
        self.pairing_until = 0.0
        self.delay_s = 0.0
        self.busy_until = 0.0
        self.garble_next = 0
        self.out_of_range_next = 0
        self.on_moved: Callable[[UnitServer], Awaitable[None]] | None = None
        self.on_renamed: Callable[[UnitServer], Awaitable[None]] | None = None
        self._buckets: dict[str, _Bucket] = {}
        # Requests to the local API by "METHOD path", for tests (GET /_emulator/debug).
        self.requests: Counter[str] = Counter()
        # The last writes applied, in order (bodies without secrets).
        self.write_log: deque[dict[str, Any]] = deque(maxlen=WRITE_LOG_SIZE)
        self._subscribers: set[_Subscriber] = set()
        self._published: dict[str, Any] = unit.wire_state()
        self._runner: web.AppRunner | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._pending: asyncio.Future[None] | None = None
        self._restart: asyncio.TimerHandle | None = None
        self._background: set[asyncio.Future[None]] = set()
        self._follower: asyncio.Future[None] | None = None

    # Life cycle.

    async def start(self) -> None:
        """Listen on host:port and start the heartbeats."""
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._middleware])
        app.add_routes(self._routes())
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
        """Push what changed since the last push as one update to every stream."""
        state = self.unit.wire_state()
        changes = _diff(self._published, state)
        self._published = state
        if not changes:
            return
        if self.out_of_range_next > 0:
            self.out_of_range_next -= 1
            changes = {
                **changes,
                "sensors": {**changes.get("sensors", {}), "temperature": 999.0},
            }
        garble = self.garble_next > 0
        if garble:
            self.garble_next -= 1
        await self._broadcast({"type": "update", "changes": changes}, garble=garble)

    async def send_event(self, event: str, data: dict[str, Any]) -> None:
        """A momentary event (button, phone, client), then the state change with it."""
        await self._broadcast({"type": "event", "event": event, "data": data})
        await self.publish()

    async def _broadcast(
        self, message: dict[str, Any], *, garble: bool = False
    ) -> None:
        for subscriber in list(self._subscribers):
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

    # Faults (docs/protocol.md, section 7).

    def press_button(self) -> None:
        """The owner presses the button: the pairing window opens."""
        self.pairing_until = time.monotonic() + PAIRING_WINDOW_S

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
            seconds, self._in_background, self._listen_again
        )

    async def _listen_again(self) -> None:
        self._restart = None
        await self.start()

    def _in_background(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` after the current answer is sent, keeping the task alive."""
        task = asyncio.ensure_future(work())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

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
        return [
            web.get(f"{api}/info", self._info),
            web.post(f"{api}/pairing", self._pair),
            web.delete(f"{api}/pairing/{{token_id}}", self._authed(self._revoke)),
            web.get(f"{api}/state", self._authed(self._state)),
            web.patch(
                f"{api}/thermostat",
                self._write(self.unit.patch_thermostat, "thermostat"),
            ),
            web.post(
                f"{api}/thermostat/boost",
                self._write(self.unit.post_boost, "thermostat"),
            ),
            web.patch(f"{api}/power", self._write(self.unit.patch_power, "power")),
            web.patch(
                f"{api}/speaker", self._write(self.unit.patch_speaker, "speaker")
            ),
            web.post(f"{api}/speaker/play", self._write(self.unit.play, "speaker")),
            web.post(
                f"{api}/speaker/pause",
                self._write(lambda _: self.unit.pause(), "speaker", body=False),
            ),
            web.post(
                f"{api}/speaker/resume",
                self._write(lambda _: self.unit.resume(), "speaker", body=False),
            ),
            web.post(
                f"{api}/speaker/stop",
                self._write(lambda _: self.unit.stop(), "speaker", body=False),
            ),
            web.post(f"{api}/speaker/group", self._write(self._group, "speaker")),
            web.get(f"{api}/speaker/stream", self._stream),
            web.patch(f"{api}/wifi", self._write(self.unit.patch_wifi, "wifi")),
            web.patch(
                f"{api}/charger", self._write(self.unit.patch_charger, "charger")
            ),
            web.patch(f"{api}/device", self._write(self._rename, "device")),
            web.get(f"{api}/events", self._events),
            web.post("/_emulator/button", self._button),
            web.post("/_emulator/faults", self._fault),
            web.post("/_emulator/events", self._environment),
            web.get("/_emulator/debug", self._debug),
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
            payload = await _json_body(request) if body else {}
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
            await self.publish()
            return web.json_response(self._published[section])

        return self._authed(write)

    def _group(self, body: dict[str, Any]) -> None:
        """Lead, follow or leave a speaker group; a member polls its leader."""
        self.unit.post_speaker_group(body)
        self._keep_following()

    def _keep_following(self) -> None:
        if self.unit.following and (self._follower is None or self._follower.done()):
            self._follower = asyncio.ensure_future(self._follow())

    async def _follow(self) -> None:
        """A member's side: read the leader's stream and play along, until it ends."""
        timeout = aiohttp.ClientTimeout(total=FOLLOW_TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while (group := self.unit.group) is not None and group.role == "member":
                assert group.leader_address is not None
                host, port = group.leader_address
                url = f"http://{host}:{port}{PREFIX}/speaker/stream"
                try:
                    async with session.get(url, params={"group_id": group.id}) as got:
                        if got.status == 404 and self.unit.group is group:
                            # The leader no longer has this group: it is over.
                            self.unit.leave_group()
                        elif got.status == 200 and self.unit.group is group:
                            self.unit.follow(await got.json())
                except (aiohttp.ClientError, TimeoutError, ValueError) as err:
                    LOGGER.debug("%s: leader unreachable: %s", self.unit.name, err)
                await self.publish()
                await asyncio.sleep(FOLLOW_POLL_S)

    async def _stream(self, request: web.Request) -> web.Response:
        """A leader's playback for its members; the group id is the credential."""
        return web.json_response(
            self.unit.group_stream(request.query.get("group_id", ""))
        )

    def _rename(self, body: dict[str, Any]) -> None:
        self.unit.patch_device(body)
        if self.on_renamed is not None:
            self._pending = asyncio.ensure_future(self.on_renamed(self))

    async def _info(self, _request: web.Request) -> web.Response:
        device = self.unit.wire_state()["device"]
        keys = ("serial", "model", "name", "firmware", "api_version", "mac")
        return web.json_response(
            {key: device[key] for key in keys} | {"paired": bool(self.tokens)}
        )

    async def _pair(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
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
        # Not the baseline of the streams' diffs: resetting it here would hide
        # unpublished changes from every open stream.
        return web.json_response(self.unit.wire_state())

    async def _events(self, request: web.Request) -> web.StreamResponse:
        try:
            token = self._check_token(request)
        except _RateLimitedError as limited:
            return error_response(
                ApiError(429, "rate_limited", "too many requests"), limited.wait
            )
        socket = web.WebSocketResponse(heartbeat=HEARTBEAT_S * 3)
        await socket.prepare(request)
        subscriber = _Subscriber(socket, token)
        # Push what the open streams have not seen yet, so that the snapshot and
        # every stream's later diffs start from the same published state.
        await self.publish()
        await subscriber.send(
            {"type": "snapshot", "boot_id": self.unit.boot_id, "state": self._published}
        )
        self._subscribers.add(subscriber)
        try:
            async for _message in socket:
                pass  # clients send nothing the protocol needs
        finally:
            self._subscribers.discard(subscriber)
        return socket

    # Emulator control.

    async def _button(self, _request: web.Request) -> web.Response:
        self.press_button()
        await self.send_event("button_pressed", {})
        return web.json_response({"ok": True})

    async def _fault(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        fault = body.get("fault")
        if fault == "drop_websocket":
            await self.drop_streams()
        elif fault == "refuse_connections":
            seconds = _parameter(body, "seconds", 5.0)
            asyncio.get_running_loop().call_soon(
                self._in_background, lambda: self.refuse_connections(seconds)
            )
        elif fault == "slow":
            self.delay_s = _parameter(body, "delay_s", 5.0)
        elif fault == "reboot":
            await self.reboot()
        elif fault == "move":
            host = _host_parameter(body, self.host)
            port = int(_parameter(body, "port", self.port, whole=True))
            asyncio.get_running_loop().call_soon(
                self._in_background, lambda: self.move(host, port)
            )
        elif fault == "revoke_tokens":
            await self.revoke_tokens()
        elif fault == "malformed_payloads":
            self.garble_next = int(_parameter(body, "count", 1, whole=True))
        elif fault == "out_of_range_payloads":
            self.out_of_range_next = int(_parameter(body, "count", 1, whole=True))
        elif fault == "clear":
            self.delay_s = 0.0
            self.garble_next = self.out_of_range_next = 0
        else:
            raise ApiError(400, "invalid_value", f"unknown fault {fault!r}", "fault")
        return web.json_response({"ok": True})

    async def _environment(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        event = body.get("event")
        if event in ("phone_placed", "phone_removed"):
            self.unit.phone_present = event == "phone_placed"
            await self.send_event(event, {})
        elif event == "client_join":
            if (
                client := self.unit.client_join(body.get("mac"), body.get("name"))
            ) is not None:
                await self.send_event("client_joined", {"mac": client.mac})
        elif event == "client_leave":
            mac = str(body.get("mac", ""))
            if self.unit.client_leave(mac):
                await self.send_event("client_left", {"mac": mac})
        elif event == "occupancy":
            self.unit.people_override = int(_parameter(body, "people", 0, whole=True))
        elif event == "window_open":
            self.unit.open_window(_parameter(body, "minutes", 10.0))
        elif event == "window_close":
            self.unit.open_window(0.0)
        else:
            raise ApiError(400, "invalid_value", f"unknown event {event!r}", "event")
        return web.json_response({"ok": True})

    async def _debug(self, _request: web.Request) -> web.Response:
        unit = self.unit
        return web.json_response(
            {
                "room_temperature": unit.room.temperature,
                "target_temperature": unit.target,
                "hvac_mode": unit.hvac_mode,
                "power_w": unit.power_w,
                "control": unit.control,
                "people": unit.people,
                "window_open": unit.window_open,
                "host": self.host,
                "port": self.port,
                "delay_s": self.delay_s,
                "power_limit_w": unit.power_limit_w,
                "requests": dict(self.requests),
                "writes": list(self.write_log),
            }
        )


class _RateLimitedError(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__("rate limited")
        self.wait = wait


async def _json_body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "payload_too_large", "the body is over 16 KiB")
    raw = await request.read()
    if not raw:
        return {}
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except ValueError:
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    return body


def _parameter(
    body: dict[str, Any], key: str, default: float, *, whole: bool = False
) -> float:
    """A non-negative emulator-control parameter (400 invalid_value if not)."""
    value = body.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (whole and value != int(value))
    ):
        kind = "a whole number" if whole else "a number"
        raise ApiError(400, "invalid_value", f"{key} must be {kind} >= 0", key)
    return float(value)


def _host_parameter(body: dict[str, Any], default: str) -> str:
    """The address a `move` goes to (400 invalid_value if not a string)."""
    host = body.get("host", default)
    if not isinstance(host, str) or not host:
        raise ApiError(400, "invalid_value", "host must be an address", "host")
    return host


def _refuse_constant(name: str) -> None:
    raise ValueError(name)


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
