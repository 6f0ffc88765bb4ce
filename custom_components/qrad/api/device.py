"""Async client of a Q.rad's local API and event stream (docs/protocol.md 3-5)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
import contextlib
import dataclasses
from functools import partial
import json
import logging
import math
import socket
import sys
from typing import Any, Self, get_type_hints

import aiohttp

from .backoff import RECONNECT_BACKOFF
from .discovery import check_supported
from .exceptions import (
    QradAuthenticationError,
    QradBusyError,
    QradConnectionError,
    QradError,
    QradInvalidResponseError,
    QradPairingError,
    QradRequestError,
    QradTimeoutError,
)
from .models import (
    Charger,
    Device,
    DeviceInfo,
    GroupPeer,
    HvacMode,
    PairingResult,
    Power,
    Preset,
    QradState,
    Speaker,
    Thermostat,
    Wifi,
    merge_update,
)

LOGGER = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
BUSY_ATTEMPTS = 3
# The longest Retry-After honoured at once, by a call or a reconnecting stream.
MAX_RETRY_AFTER_S = 10.0
# The wait before asking again when a busy answer gives no Retry-After.
BUSY_WAIT_S = 1.0
HEARTBEAT_TIMEOUT_S = 30.0
CLOSE_TOKEN_REFUSED = 4401


@dataclasses.dataclass(frozen=True, kw_only=True)
class BusyRetry:
    """How a busy Q.rad (429, 503) is asked again: the one retry of a busy answer.

    Each wait is the Retry-After the Q.rad gave (BUSY_WAIT_S without one), at
    most MAX_RETRY_AFTER_S; `run` lets the QradBusyError through after
    `attempts` tries, or when the next wait would end past `budget_s`.

    As in python-wled, the retry is declared on the call (CALL_RETRY) and
    nothing above retries that call again. Unlike it, only a busy answer is
    retried, after the wait the Q.rad asks for (section 3.4), not a connection
    error: the stream's reconnect and the coordinator's polling answer those.
    And a setpoint's retry is its writer's, run over the batch with ASK_ONCE
    for each call, since each try must carry the newest values asked meanwhile.
    """

    attempts: int = sys.maxsize
    budget_s: float = math.inf

    async def run[T](self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Await `attempt()`, again after each busy answer as this policy allows."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.budget_s
        tries = 0
        while True:
            tries += 1
            try:
                return await attempt()
            except QradBusyError as err:
                wait = min(err.retry_after or BUSY_WAIT_S, MAX_RETRY_AFTER_S)
                if tries >= self.attempts or loop.time() + wait > give_up:
                    raise
                LOGGER.debug("%s; asking again in %.1f s", err, wait)
                await asyncio.sleep(wait)


# A read or a command: asked three times.
CALL_RETRY = BusyRetry(attempts=BUSY_ATTEMPTS)
# For a caller that runs a retry of its own over several calls.
ASK_ONCE = BusyRetry(attempts=1)


class QradDevice:
    """One Q.rad on the LAN: commands over HTTP, state pushed over a WebSocket."""

    def __init__(
        self,
        host: str,
        port: int = 8080,
        *,
        token: str | None = None,
        session: aiohttp.ClientSession | None = None,
        request_timeout: float = 10.0,
        openings: asyncio.Semaphore | None = None,
    ) -> None:
        """Talk to host:port; use the caller's session, or own one.

        `openings`, shared by the clients of many Q.rads, bounds how many of
        their reads (GET) and stream openings run at once: a building's Q.rads
        starting together would otherwise set up hundreds of connections in
        one turn of the event loop. Commands never wait for a slot, and the
        wait for one counts in the request's timeout.
        """
        self.host = host
        self.port = port
        self.token = token
        self.request_timeout = request_timeout
        self._openings: contextlib.AbstractAsyncContextManager[Any] = (
            openings or contextlib.nullcontext()
        )
        self._session = session
        self._owns_session = session is None
        self._raw_state: dict[str, Any] | None = None
        self._last_state: QradState | None = None
        self._connected = False

    def __repr__(self) -> str:
        """Name the unit's address; never the token."""
        return f"QradDevice(host={self.host!r}, port={self.port})"

    async def __aenter__(self) -> Self:
        """Use as `async with QradDevice(...) as device`."""
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        """Close the session if this client created it."""
        await self.close()

    async def close(self) -> None:
        """Close the session if this client created it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def connected(self) -> bool:
        """Whether the event stream is up."""
        return self._connected

    @property
    def last_state(self) -> QradState | None:
        """The latest valid state received, if any."""
        return self._last_state

    @property
    def page_url(self) -> str:
        """The unit's own page for people (docs/protocol.md section 3, `GET /`)."""
        return f"http://{self._authority}/"

    @property
    def _base_url(self) -> str:
        return f"http://{self._authority}{API_PREFIX}"

    @property
    def _authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def _session_or_new(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    def _headers(self, *, auth: bool) -> dict[str, str]:
        if not auth:
            return {}
        if self.token is None:
            raise QradAuthenticationError("no device token: pair with the Q.rad first")
        return {"Authorization": f"Bearer {self.token}"}

    # Requests.

    async def _request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        auth: bool = True,
        retry: BusyRetry = CALL_RETRY,
    ) -> Any:
        """Send one request, asked again as `retry` says on 429/503; map every error."""
        return await retry.run(partial(self._ask, method, path, body, auth=auth))

    async def _ask(
        self, method: str, path: str, body: Mapping[str, Any] | None, *, auth: bool
    ) -> Any:
        """One try: the answer's payload, or its error (QradBusyError on 429/503)."""
        status, retry_after, payload = await self._send(method, path, body, auth=auth)
        if status < 300:
            return payload
        if status in (429, 503):
            raise QradBusyError(
                f"{self.host} is busy ({_describe(payload)})", retry_after
            )
        raise _error_for(status, payload)

    async def _send(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        auth: bool,
    ) -> tuple[int, float | None, Any]:
        headers = self._headers(auth=auth)
        try:
            async with (
                asyncio.timeout(self.request_timeout),
                self._openings if method == "GET" else contextlib.nullcontext(),
                self._session_or_new().request(
                    method, f"{self._base_url}{path}", json=body, headers=headers
                ) as response,
            ):
                raw = await response.read()
                retry_after = _retry_after(response.headers.get("Retry-After"))
                status = response.status
        except TimeoutError as err:
            raise QradTimeoutError(f"{self.host} did not answer in time") from err
        except (aiohttp.ClientError, socket.gaierror, OSError) as err:
            raise QradConnectionError(f"cannot reach {self.host}: {err}") from err
        if status == 204 or not raw:
            return status, retry_after, None
        try:
            # Bytes: a body that is not UTF-8 fails here too (UnicodeDecodeError).
            payload = json.loads(raw)
        except (ValueError, RecursionError) as err:
            raise QradInvalidResponseError(
                f"{self.host} answered {method} {path} with something that is not JSON"
            ) from err
        return status, retry_after, payload

    async def info(self) -> DeviceInfo:
        """The unit's public identity; refuses a unit this client cannot speak to."""
        info = DeviceInfo.from_dict(await self._request("GET", "/info", auth=False))
        check_supported(info.api_version, info.firmware)
        return info

    async def pair(self, client_name: str) -> PairingResult:
        """Ask for a token; succeeds only in the window opened by a button press."""
        payload = await self._request(
            "POST", "/pairing", {"client_name": client_name}, auth=False
        )
        if (
            not isinstance(payload, Mapping)
            or not isinstance(token := payload.get("token"), str)
            or not isinstance(token_id := payload.get("token_id"), str)
        ):
            raise QradInvalidResponseError("the pairing answer holds no token")
        self.token = token
        return PairingResult(token=token, token_id=token_id)

    async def revoke_token(self, token_id: str) -> None:
        """Revoke a token (this client's own, or another's)."""
        await self._request("DELETE", f"/pairing/{token_id}")

    async def state(self) -> QradState:
        """The whole state."""
        payload = await self._request("GET", "/state")
        state = QradState.from_dict(payload)
        check_supported(state.device.api_version, state.device.firmware)
        return state

    async def set_thermostat(
        self,
        *,
        target_temperature: float | None = None,
        hvac_mode: HvacMode | None = None,
        preset: Preset | None = None,
        preset_temperatures: Mapping[Preset, float] | None = None,
        retry: BusyRetry = CALL_RETRY,
    ) -> Thermostat:
        """Change target, mode, preset or preset temperatures."""
        body = _only_given(
            target_temperature=target_temperature,
            hvac_mode=hvac_mode,
            preset=preset,
            preset_temperatures=(
                {str(key): value for key, value in preset_temperatures.items()}
                if preset_temperatures is not None
                else None
            ),
        )
        return Thermostat.from_dict(
            await self._request("PATCH", "/thermostat", body, retry=retry)
        )

    async def set_power_limit(
        self, power_limit_w: float, *, retry: BusyRetry = CALL_RETRY
    ) -> Power:
        """Cap the power any target may ask for, the cloud's or the unit's own."""
        return Power.from_dict(
            await self._request(
                "PATCH", "/power", {"power_limit_w": power_limit_w}, retry=retry
            )
        )

    async def boost(self, minutes: int, delta: float | None = None) -> Thermostat:
        """Raise the target by delta for a while."""
        body = _only_given(minutes=minutes, delta=delta)
        return Thermostat.from_dict(
            await self._request("POST", "/thermostat/boost", body)
        )

    async def set_speaker(
        self,
        *,
        power: bool | None = None,
        volume: float | None = None,
        muted: bool | None = None,
        source: str | None = None,
    ) -> Speaker:
        """Change the speaker's power, volume, mute or source."""
        body = _only_given(power=power, volume=volume, muted=muted, source=source)
        return Speaker.from_dict(await self._request("PATCH", "/speaker", body))

    async def play(
        self, url: str, *, title: str | None = None, announce: bool = False
    ) -> Speaker:
        """Play a URL, or announce it over what plays."""
        body = _only_given(url=url, title=title) | {"announce": announce}
        return Speaker.from_dict(await self._request("POST", "/speaker/play", body))

    async def pause(self) -> Speaker:
        """Pause playback."""
        return Speaker.from_dict(await self._request("POST", "/speaker/pause"))

    async def resume(self) -> Speaker:
        """Resume playback."""
        return Speaker.from_dict(await self._request("POST", "/speaker/resume"))

    async def stop(self) -> Speaker:
        """Stop playback."""
        return Speaker.from_dict(await self._request("POST", "/speaker/stop"))

    async def lead_speaker_group(self, members: list[GroupPeer]) -> Speaker:
        """Lead a speaker group of these Q.rads (an empty list dissolves it)."""
        body = {"members": [member.to_wire() for member in members]}
        return Speaker.from_dict(await self._request("POST", "/speaker/group", body))

    async def follow_speaker_group(
        self, leader: GroupPeer | None, group_id: str | None = None
    ) -> Speaker:
        """Play what `leader` plays in its group `group_id`; None leaves the group."""
        body: dict[str, Any] = {"leader": None if leader is None else leader.to_wire()}
        if leader is not None:
            body["group_id"] = group_id
        return Speaker.from_dict(await self._request("POST", "/speaker/group", body))

    async def set_wifi(
        self,
        *,
        enabled: bool | None = None,
        ssid: str | None = None,
        passphrase: str | None = None,
    ) -> Wifi:
        """Switch the access point, or change its SSID or passphrase."""
        body = _only_given(enabled=enabled, ssid=ssid, passphrase=passphrase)
        return Wifi.from_dict(await self._request("PATCH", "/wifi", body))

    async def set_charger(self, *, enabled: bool) -> Charger:
        """Switch the induction charger."""
        return Charger.from_dict(
            await self._request("PATCH", "/charger", {"enabled": enabled})
        )

    async def set_name(self, name: str) -> Device:
        """Rename the unit (it re-announces itself)."""
        return Device.from_dict(await self._request("PATCH", "/device", {"name": name}))

    # Push.

    async def listen(
        self,
        on_state: Callable[[QradState], None],
        on_connection: Callable[[bool], None] | None = None,
    ) -> None:
        """Follow the event stream until cancelled, reconnecting with backoff.

        Raises QradAuthenticationError when the token is refused.
        """
        delays = RECONNECT_BACKOFF.delays()
        while True:
            stream = _Stream(self, on_state)
            asked_s = 0.0
            try:
                await self._listen_once(stream, on_connection)
            except QradAuthenticationError:
                self._set_connected(connected=False, on_connection=on_connection)
                raise
            except QradBusyError as err:
                # Section 3.4: not before the Retry-After the Q.rad gave.
                LOGGER.debug("Event stream of %s refused: %s", self.host, err)
                asked_s = min(err.retry_after or 0.0, MAX_RETRY_AFTER_S)
            except QradError as err:
                LOGGER.debug("Event stream of %s ended: %s", self.host, err)
            except asyncio.CancelledError:
                # Stopped by the caller, who knows: no callback, just the flag.
                self._connected = False
                raise
            self._set_connected(connected=False, on_connection=on_connection)
            if stream.snapshot_seen:
                delays = RECONNECT_BACKOFF.delays()
            await asyncio.sleep(max(next(delays), asked_s))

    def _set_connected(
        self, *, connected: bool, on_connection: Callable[[bool], None] | None
    ) -> None:
        if connected != self._connected:
            self._connected = connected
            if on_connection is not None:
                on_connection(connected)

    async def _listen_once(
        self, stream: _Stream, on_connection: Callable[[bool], None] | None
    ) -> None:
        """One connection: snapshot, then updates, until it ends (always by raising)."""
        headers = self._headers(auth=True)
        session = self._session_or_new()
        try:
            async with asyncio.timeout(self.request_timeout), self._openings:
                socket_ = await session.ws_connect(
                    f"{self._base_url}/events", headers=headers, heartbeat=None
                )
        except TimeoutError as err:
            raise QradTimeoutError(
                f"{self.host} did not open its event stream"
            ) from err
        except aiohttp.WSServerHandshakeError as err:
            if err.status == 401:
                raise QradAuthenticationError("the Q.rad refused the token") from err
            if err.status in (429, 503):
                asked = err.headers.get("Retry-After") if err.headers else None
                raise QradBusyError(
                    f"{self.host} is busy ({err.status})", _retry_after(asked)
                ) from err
            raise QradConnectionError(f"event stream refused: {err.status}") from err
        except (aiohttp.ClientError, OSError) as err:
            raise QradConnectionError(f"cannot reach {self.host}: {err}") from err
        async with socket_:
            while True:
                try:
                    async with asyncio.timeout(HEARTBEAT_TIMEOUT_S):
                        message = await socket_.receive()
                except TimeoutError as err:
                    raise QradConnectionError("no heartbeat for 30 s") from err
                if message.type is not aiohttp.WSMsgType.TEXT:
                    raise _ended(socket_, message)
                if stream.handle(message.data) and stream.seq == 1:
                    self._set_connected(connected=True, on_connection=on_connection)


def _ended(
    socket_: aiohttp.ClientWebSocketResponse, message: aiohttp.WSMessage
) -> QradError:
    """Why the stream ended, from a frame that is not text."""
    if socket_.close_code == CLOSE_TOKEN_REFUSED:
        return QradAuthenticationError("the Q.rad refused the token")
    if message.type is aiohttp.WSMsgType.ERROR:
        return QradConnectionError(f"event stream failed: {message.data}")
    return QradConnectionError(f"event stream closed ({socket_.close_code})")


class _Stream:
    """Applies the messages of one connection to the client's cached state."""

    def __init__(
        self, device: QradDevice, on_state: Callable[[QradState], None]
    ) -> None:
        self._device = device
        self._on_state = on_state
        self.seq = 0
        self.snapshot_seen = False

    def handle(self, text: str) -> bool:
        """Handle one frame; return True if it changed the state.

        Raises QradError when the cached state may now be wrong (a gap in `seq`, a
        message that is not valid, a state that breaks section 4.1): the caller
        reconnects, and the new connection's snapshot resyncs the state. The last
        good state is kept meanwhile.
        """
        try:
            message = json.loads(text)
        except ValueError, RecursionError:
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise self._invalid("a malformed event")
        kind, seq = message["type"], message.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq != self.seq + 1:
            raise QradConnectionError(f"event {seq!r} after {self.seq}: resyncing")
        self.seq = seq
        if kind == "snapshot":
            return self._apply(message.get("state"), replace=True)
        if not self.snapshot_seen:
            raise self._invalid(f"a {kind!r} event before the snapshot")
        if kind == "update":
            return self._apply(message.get("changes"), replace=False)
        return False

    def _invalid(self, what: str) -> QradInvalidResponseError:
        """Say what was refused (the report section 4.1 asks for); end the stream."""
        LOGGER.warning(
            "Ignored %s from %s; keeping the last good state and resyncing",
            what,
            self._device.host,
        )
        return QradInvalidResponseError(f"{what}: resyncing")

    def _apply(self, data: object, *, replace: bool) -> bool:
        if not isinstance(data, dict):
            raise self._invalid("an event without state")
        previous = self._device._last_state  # noqa: SLF001
        raw = data if replace else merge_update(self._device._raw_state or {}, data)  # noqa: SLF001
        try:
            if replace or previous is None:
                state = QradState.from_dict(raw)
            else:
                state = _with_sections(previous, raw, data)
        except QradInvalidResponseError as err:
            raise self._invalid(f"an invalid state ({err})") from err
        if replace:
            self.snapshot_seen = True
        self._device._raw_state = raw  # noqa: SLF001
        self._device._last_state = state  # noqa: SLF001
        self._on_state(state)
        return True


# Each section of the state and the parser of its model, read once from QradState.
_SECTION_PARSERS: dict[str, Callable[[object], Any]] = {
    name: model.from_dict for name, model in get_type_hints(QradState).items()
}


def _with_sections(
    previous: QradState, raw: Mapping[str, Any], changes: Mapping[str, Any]
) -> QradState:
    """The state after an update: only the sections it touched are parsed again.

    The others are the objects already validated (the sections are independent,
    as QradState.from_dict reads each on its own): at one update per second per
    Q.rad, re-validating the whole state each time was most of the client's work.
    """
    sections = {
        name: _SECTION_PARSERS[name](raw[name])
        for name in changes
        if name in _SECTION_PARSERS
    }
    return dataclasses.replace(previous, **sections) if sections else previous


def _only_given(**fields: object) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _describe(payload: object) -> str:
    if isinstance(payload, Mapping) and isinstance(
        error := payload.get("error"), Mapping
    ):
        return f"{error.get('code')}: {error.get('message')}"
    return "no error body"


def _error_for(status: int, payload: object) -> QradError:
    """The exception for an error answer, from its status and error code."""
    code, message, field = "unknown", _describe(payload), None
    if isinstance(payload, Mapping) and isinstance(
        error := payload.get("error"), Mapping
    ):
        code = str(error.get("code"))
        field = error.get("field") if isinstance(error.get("field"), str) else None
    if status == 401:
        return QradAuthenticationError("the Q.rad refused the token")
    if status == 403 and code == "pairing_window_closed":
        return QradPairingError(
            "the pairing window is closed: press the Q.rad's button"
        )
    if 400 <= status < 500:
        return QradRequestError(message, code, field)
    return QradInvalidResponseError(f"the Q.rad failed ({status}): {message}")
