"""An MQTT session that comes back: the emulator's and controller's client side."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import logging
import socket
import ssl

import aiomqtt

from .endpoint import BrokerEndpoint

_LOGGER = logging.getLogger(__name__)
RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)


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
    return aiomqtt.Client(
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
