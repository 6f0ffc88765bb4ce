"""The cloud client: one account's MQTT link to the compute controller (protocol 6).

paho-mqtt speaks MQTT; this module runs it on the asyncio event loop the way
Home Assistant's own MQTT client does: the blocking connect (DNS, TCP, TLS
handshake) in an executor thread, then the socket's reads and writes as event
loop callbacks, so nothing here blocks the loop. Setpoints go through the
durable `Outbox` and leave it only when the broker acknowledges them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from datetime import timedelta
from functools import partial
import logging
import secrets
import socket
import ssl
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from .backoff import RECONNECT_BACKOFF
from .cloud_models import (
    ComputeStatus,
    Heating,
    Origin,
    Plan,
    PlannedChange,
    PlanSource,
    Setpoint,
    decode_json,
)
from .exceptions import (
    QradAuthenticationError,
    QradConnectionError,
    QradError,
    QradInvalidResponseError,
    QradTimeoutError,
)
from .outbox import Outbox

_LOGGER = logging.getLogger(__name__)

KEEPALIVE_S = 30
CONNECT_TIMEOUT_S = 10.0
# Retained setpoints arrive right after the subscription is acknowledged; the
# outbox is flushed once none has come for this long.
RETAINED_SETTLE_S = 0.3
RETAINED_SETTLE_MAX_S = 3.0
# A plan sent is valid this long (6.11: a sender covers at least the next 24 h).
PLAN_VALIDITY = timedelta(hours=36)
CLOSE_WAIT_STEPS = 20
AUTH_FAILURES = frozenset({4, 5, 134, 135})  # 3.1.1 and MQTT 5 "not authorized"


class QradCloud:
    """One homeowner account's link: setpoints out, compute status in."""

    def __init__(
        self,
        host: str,
        port: int,
        account: str,
        secret: str,
        *,
        outbox: Outbox,
        tls: bool = True,
        ca_data: str | None = None,
        verify_tls: bool = True,
    ) -> None:
        """Configure the link; nothing connects until `connect`."""
        self.host = host
        self.port = port
        self.account = account
        self._secret = secret
        self._tls = tls
        self._ca_data = ca_data
        self._verify_tls = verify_tls
        self.outbox = outbox
        self.statuses: dict[str, ComputeStatus] = {}
        self.controller_online: bool | None = None
        self.connected = False
        self.on_status: Callable[[ComputeStatus], None] | None = None
        # Told when `connected` or `controller_online` changes, and only then:
        # a status reaches its own Q.rad through `on_status`.
        self.on_change: Callable[[], None] | None = None
        self._reported: tuple[bool, bool | None] = (False, None)
        self._loop = asyncio.get_running_loop()
        self._client: mqtt.Client | None = None
        self._connect_result: asyncio.Future[None] | None = None
        # mid -> (serial, seq, "setpoint" or "plan")
        self._in_flight: dict[int, tuple[str, int, str]] = {}
        self._ready = False
        self._retained = asyncio.Event()
        self._settle_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._misc_timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._check_only = False
        self._delivered = asyncio.Event()

    @property
    def prefix(self) -> str:
        """The account's topic prefix."""
        return f"qrad/v1/acct/{self.account}"

    # Public API.

    async def start(self) -> None:
        """Connect, or keep trying in the background; raise only on bad credentials.

        Setpoints are accepted into the outbox meanwhile and leave on connection.
        """
        try:
            await self.connect()
        except QradAuthenticationError:
            raise
        except QradError as err:
            _LOGGER.info(
                "cloud %s: not reachable yet (%s); retrying", self.account, err
            )
            self._closing = False
            self._client = await self._loop.run_in_executor(None, self._make_client)
            self._reconnect_task = self._loop.create_task(self._reconnect(first=True))

    async def check_credentials(self) -> None:
        """Log in once and leave, raising as `connect` does (for config flows)."""
        self._check_only = True
        try:
            await self.connect()
        finally:
            await self.close()

    async def connect(self) -> None:
        """Connect once, raising on any failure; afterwards reconnect by itself."""
        self._client = await self._loop.run_in_executor(None, self._make_client)
        self._connect_result = self._loop.create_future()
        try:
            await self._connect_once(first=True)
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await self._connect_result
        except TimeoutError as err:
            await self.close()
            raise QradTimeoutError(
                f"no answer from the cloud broker {self.host}"
            ) from err
        except QradError:
            await self.close()
            raise

    async def submit(self, serial: str, heating: Heating, origin: Origin) -> Setpoint:
        """Queue a setpoint durably, then send it if the link is up."""
        setpoint = await self.outbox.add(serial, heating, origin)
        self._delivered.clear()
        if self._ready:
            self._send(setpoint)
        return setpoint

    async def submit_plan(
        self,
        serial: str,
        changes: tuple[PlannedChange, ...],
        *,
        source: PlanSource,
        valid_for: timedelta = PLAN_VALIDITY,
    ) -> Plan:
        """Queue a plan durably (replacing one not yet sent), then send it if up."""
        plan = await self.outbox.add_plan(
            serial, changes, source=source, valid_for=valid_for
        )
        self._delivered.clear()
        if self._ready:
            self._send_plan(plan)
        return plan

    async def wait_delivered(self, within_s: float) -> bool:
        """Wait until the outbox is empty; False if it is not within `within_s`."""
        try:
            async with asyncio.timeout(within_s):
                while self.outbox.pending or self.outbox.plans:
                    self._delivered.clear()
                    await self._delivered.wait()
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Disconnect for good (the outbox keeps what was not delivered)."""
        self._closing = True
        for task in (self._reconnect_task, self._settle_task, *self._tasks):
            if task is not None:
                task.cancel()
        if self._misc_timer is not None:
            self._misc_timer.cancel()
            self._misc_timer = None
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            # The DISCONNECT leaves through the event loop; then paho closes the
            # socket. A socket still open after that would keep a session the
            # broker goes on feeding, so close it ourselves.
            for _ in range(CLOSE_WAIT_STEPS):
                if client.socket() is None:
                    break
                await asyncio.sleep(0.05)
            if (sock := client.socket()) is not None:
                self._loop.remove_reader(sock)
                self._loop.remove_writer(sock)
                sock.close()
        self.connected = False
        self._ready = False

    # Connection.

    def _make_client(self) -> mqtt.Client:
        """Build the paho client (in an executor: it may read CA files)."""
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"ha-{self.account}-{secrets.token_hex(3)}",
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=True,
        )
        client.username_pw_set(self.account, self._secret)
        if self._tls:
            context = ssl.create_default_context(cadata=self._ca_data)
            if not self._verify_tls:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            client.tls_set_context(context)
        client.suppress_exceptions = True
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_socket_close = self._on_socket_close
        client.on_socket_unregister_write = self._on_socket_unregister_write
        return client

    async def _connect_once(self, *, first: bool) -> None:
        """Paho's blocking connect, in an executor thread."""
        client = self._client
        if client is None:
            return
        client.on_socket_open = self._thread_socket_open
        client.on_socket_register_write = self._thread_register_write
        try:
            if first:
                connect = partial(client.connect, self.host, self.port, KEEPALIVE_S)
                await self._loop.run_in_executor(None, connect)
            else:
                await self._loop.run_in_executor(None, client.reconnect)
        except (OSError, ssl.SSLError) as err:
            raise QradConnectionError(f"cannot reach the cloud broker: {err}") from err
        finally:
            client.on_socket_open = self._socket_open
            client.on_socket_register_write = self._register_write

    async def _reconnect(self, *, first: bool = False) -> None:
        """Come back after a drop, waiting longer after each failure."""
        delays = RECONNECT_BACKOFF.delays()
        while not self._closing and not self.connected:
            await asyncio.sleep(next(delays))
            with contextlib.suppress(QradConnectionError):
                await self._connect_once(first=first)
                first = False
            # A CONNACK arrives on the socket; give it time before trying again.
            await asyncio.sleep(1.0)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        result = self._connect_result
        if reason_code.is_failure:
            if reason_code.value in AUTH_FAILURES:
                self._closing = True
                failure: QradError = QradAuthenticationError(
                    f"the cloud refused the credentials of account {self.account}"
                )
            else:
                failure = QradConnectionError(
                    f"the cloud broker refused: {reason_code}"
                )
            _LOGGER.warning("cloud %s: %s", self.account, failure)
            if result is not None and not result.done():
                result.set_exception(failure)
            return
        self.connected = True
        if result is not None and not result.done():
            result.set_result(None)
        _LOGGER.debug("cloud %s: connected", self.account)
        if self._check_only:
            return
        client.subscribe(
            [
                (f"{self.prefix}/+/setpoint", 1),
                (f"{self.prefix}/+/plan", 1),
                (f"{self.prefix}/+/status", 1),
                (f"{self.prefix}/cloud", 1),
                ("qrad/v1/cloud/availability", 1),
            ]
        )
        self._notify()

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, properties: Any
    ) -> None:
        self._settle_task = self._loop.create_task(self._settle_then_flush())

    async def _settle_then_flush(self) -> None:
        """Read the retained setpoints first, then deliver the outbox in order."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(RETAINED_SETTLE_MAX_S):
                while True:
                    self._retained.clear()
                    try:
                        async with asyncio.timeout(RETAINED_SETTLE_S):
                            await self._retained.wait()
                    except TimeoutError:
                        break
        self._ready = True
        for setpoint in self.outbox.in_order():
            self._send(setpoint)
        for plan in list(self.outbox.plans.values()):
            self._send_plan(plan)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        properties: Any,
    ) -> None:
        was_connected = self.connected
        self.connected = False
        self._ready = False
        self._in_flight.clear()
        if was_connected:
            _LOGGER.info("cloud %s: disconnected (%s)", self.account, reason_code)
            self._notify()
        if not self._closing and (
            self._reconnect_task is None or self._reconnect_task.done()
        ):
            self._reconnect_task = self._loop.create_task(self._reconnect())

    # Messages.

    def _send(self, setpoint: Setpoint) -> None:
        if self._client is None:
            return
        info = self._client.publish(
            f"{self.prefix}/{setpoint.serial}/setpoint",
            setpoint.payload(),
            qos=1,
            retain=True,
        )
        self._in_flight[info.mid] = (setpoint.serial, setpoint.seq, "setpoint")

    def _send_plan(self, plan: Plan) -> None:
        if self._client is None:
            return
        info = self._client.publish(
            f"{self.prefix}/{plan.serial}/plan", plan.payload(), qos=1, retain=True
        )
        self._in_flight[info.mid] = (plan.serial, plan.seq, "plan")

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: Any,
        properties: Any,
    ) -> None:
        if (sent := self._in_flight.pop(mid, None)) is not None:
            self._spawn(self._acknowledged(*sent))

    async def _acknowledged(self, serial: str, seq: int, kind: str) -> None:
        if kind == "plan":
            await self.outbox.plan_delivered(serial, seq)
        else:
            await self.outbox.delivered(serial, seq)
        if not self.outbox.pending and not self.outbox.plans:
            self._delivered.set()

    def _on_message(
        self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage
    ) -> None:
        levels = message.topic.split("/")
        try:
            if message.topic == "qrad/v1/cloud/availability":
                self.controller_online = message.payload == b"online"
            elif len(levels) == 5 and levels[4] == "cloud":
                data = decode_json(message.payload)
                self.controller_online = (
                    isinstance(data, dict) and data.get("online") is True
                )
            elif len(levels) == 6 and levels[5] == "setpoint":
                if message.retain:
                    self._retained.set()
                seen = Setpoint.from_dict(decode_json(message.payload))
                if seen.serial == levels[4]:
                    self._spawn(self._observe(seen.serial, seen.seq, seen))
            elif len(levels) == 6 and levels[5] == "plan":
                self._on_plan(levels[4], message)
            elif len(levels) == 6 and levels[5] == "status":
                self._on_status(
                    levels[4], ComputeStatus.from_dict(decode_json(message.payload))
                )
        except QradInvalidResponseError as err:
            _LOGGER.warning(
                "cloud %s: ignored a bad message on %s: %s",
                self.account,
                message.topic,
                err,
            )
            return
        self._notify()

    def _on_status(self, serial: str, status: ComputeStatus) -> None:
        if status.serial != serial:
            raise QradInvalidResponseError("status.serial does not match its topic")
        known = self.statuses.get(serial)
        if known is not None and status.updated_at < known.updated_at:
            return
        self.statuses[serial] = status
        self._spawn(self._observe(serial, status.setpoint_seq, None))
        if self.on_status is not None:
            self.on_status(status)

    async def _observe(self, serial: str, seq: int, seen: Setpoint | None) -> None:
        fresh = await self.outbox.observe(serial, seq, seen)
        if fresh is not None and self._ready:
            self._send(fresh)

    def _on_plan(self, serial: str, message: mqtt.MQTTMessage) -> None:
        """A plan seen at the broker (ours, retained): new plans continue after it."""
        if message.retain:
            self._retained.set()
        seen = Plan.from_dict(decode_json(message.payload))
        if seen.serial == serial:
            self._spawn(self._observe_plan(seen))

    async def _observe_plan(self, seen: Plan) -> None:
        fresh = await self.outbox.observe_plan(seen)
        if fresh is not None and self._ready:
            self._send_plan(fresh)

    def _notify(self) -> None:
        """Tell `on_change` if the link or the controller came or went."""
        link = (self.connected, self.controller_online)
        if link == self._reported:
            return
        self._reported = link
        if self.on_change is not None:
            self.on_change()

    def _spawn(self, coroutine: Any) -> None:
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Socket plumbing between paho and the event loop.

    def _thread_socket_open(
        self, client: mqtt.Client, userdata: Any, sock: Any
    ) -> None:
        self._loop.call_soon_threadsafe(self._socket_open, client, userdata, sock)

    def _thread_register_write(
        self, client: mqtt.Client, userdata: Any, sock: Any
    ) -> None:
        self._loop.call_soon_threadsafe(self._register_write, client, userdata, sock)

    def _socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if sock.fileno() > -1:
            # A setpoint right after an acknowledgement would otherwise wait
            # for the broker's delayed ACK (Nagle's algorithm, about 40 ms).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._loop.add_reader(sock, self._read, client)
        if self._misc_timer is None:
            self._misc_timer = self._loop.call_later(1.0, self._misc, client)
        self._read(client)

    def _on_socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if sock.fileno() > -1:
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)

    def _register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if sock.fileno() > -1:
            self._loop.add_writer(sock, self._write, client)

    def _on_socket_unregister_write(
        self, client: mqtt.Client, userdata: Any, sock: Any
    ) -> None:
        if sock.fileno() > -1:
            self._loop.remove_writer(sock)

    def _read(self, client: mqtt.Client) -> None:
        client.loop_read()

    def _write(self, client: mqtt.Client) -> None:
        client.loop_write()

    def _misc(self, client: mqtt.Client) -> None:
        """Keepalive pings and timeouts, once a second."""
        client.loop_misc()
        if not self._closing:
            self._misc_timer = self._loop.call_later(1.0, self._misc, client)
