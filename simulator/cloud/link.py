"""An MQTT session that comes back: the emulator's and controller's client side."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
import contextlib
import logging
import socket
import ssl
from typing import Any, override

import aiomqtt
from aiomqtt.types import PahoSocket
from paho.mqtt import client as mqtt

from .endpoint import BrokerEndpoint

_LOGGER = logging.getLogger(__name__)
RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)


class _Client(aiomqtt.Client):
    """aiomqtt's client, registering its socket's writer only while the socket is open.

    aiomqtt 2.5.1 hands `add_writer(fd)` to the loop for a later turn and never
    removes the writer when the socket closes. A publish in the turn where the
    broker's end of the connection is read thus registers a closed descriptor,
    and the loop reports an OSError (EBADF) that no caller can catch.
    """

    @override
    def _on_socket_register_write(
        self, client: mqtt.Client, userdata: Any, sock: PahoSocket
    ) -> None:
        def write() -> None:
            try:
                client.loop_write()
            except Exception as err:  # noqa: BLE001 - as aiomqtt: the link broke
                if not self._disconnected.done():
                    self._disconnected.set_exception(err)

        def register() -> None:
            fileno = sock.fileno()
            if fileno > -1 and client.socket() is sock:
                self._loop.add_writer(fileno, write)

        # paho may ask from the thread that connects: only the loop registers.
        self._loop.call_soon_threadsafe(register)

    @override
    def _on_socket_close(
        self, client: mqtt.Client, userdata: Any, sock: PahoSocket
    ) -> None:
        if sock.fileno() > -1:
            self._loop.remove_writer(sock.fileno())
        super()._on_socket_close(client, userdata, sock)


def make_client(
    endpoint: BrokerEndpoint,
    *,
    username: str,
    password: str,
    identifier: str,
    will: aiomqtt.Will | None = None,
    protocol: aiomqtt.ProtocolVersion = aiomqtt.ProtocolVersion.V311,
) -> aiomqtt.Client:
    """A client for `endpoint`, verifying its certificate when it speaks TLS."""
    context = None
    if endpoint.ca is not None:
        context = ssl.create_default_context(cafile=str(endpoint.ca))
    return _Client(
        endpoint.host,
        endpoint.port,
        username=username,
        password=password,
        identifier=identifier,
        will=will,
        tls_context=context,
        keepalive=10,
        timeout=5,
        protocol=protocol,
        # MQTT's packets are small and answer each other: without this, a
        # publish after an acknowledgement waits for the peer's delayed ACK.
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )


async def keep_connected(
    connect: Callable[[], aiomqtt.Client],
    serve: Callable[[aiomqtt.Client], Awaitable[None]],
    on_down: Callable[[], None],
    name: str,
) -> None:
    """Connect, serve until the session drops, and start again with backoff."""
    attempt = 0
    while True:
        try:
            async with connect() as client:
                attempt = 0
                await serve(client)
        except aiomqtt.MqttError as err:
            _LOGGER.debug("%s: session ended: %s", name, err)
        on_down()
        await asyncio.sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)])
        attempt += 1


@contextlib.asynccontextmanager
async def alongside(
    work: Coroutine[None, None, None], name: str
) -> AsyncIterator[None]:
    """Run `work` while the block serves the session, and end it with the block.

    Work that fails because the session dropped ends quietly (the block's
    message loop sees the end by itself); any other failure is logged. Either
    way the task is awaited: no exception is left unretrieved, which the event
    loop would report when the task is collected.
    """
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        task.cancel()
        (outcome,) = await asyncio.gather(task, return_exceptions=True)
        if isinstance(outcome, aiomqtt.MqttError):
            _LOGGER.debug(
                "%s: background work ended with the session: %s", name, outcome
            )
        elif isinstance(outcome, Exception):
            _LOGGER.error("%s: background work failed", name, exc_info=outcome)
