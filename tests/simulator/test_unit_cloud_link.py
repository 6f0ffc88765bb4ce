"""The emulated unit's own MQTT link (docs/protocol.md 6.2, 6.6), over a real broker."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import time
from typing import Any

import aiomqtt

from simulator.cloud.access import CONTROLLER
from simulator.cloud.endpoint import BrokerEndpoint
from simulator.cloud.link import alongside, make_client
from simulator.device.cloudlink import UnitCloudLink
from simulator.device.unit import QradUnitModel
from simulator.testing import CloudWorld


async def retained_availability(world: CloudWorld, serial: str) -> bytes:
    """What a newcomer reads on the unit's availability topic (retained)."""
    async with make_client(
        world.endpoint,
        username=CONTROLLER,
        password=world.directory.controller_secret,
        identifier="availability-reader",
    ) as client:
        await client.subscribe(f"qrad/v1/dev/{serial}/availability", qos=1)
        async with asyncio.timeout(5):
            message = await anext(client.messages)
    assert message.retain
    assert isinstance(message.payload, bytes)
    return message.payload


async def linked(unit: QradUnitModel) -> None:
    """Wait until the unit's link is up."""
    async with asyncio.timeout(5):
        while not unit.cloud.connected:
            await asyncio.sleep(0.02)


async def test_availability_is_online_then_offline_when_the_unit_stops(
    cloud_world: CloudWorld,
) -> None:
    """Retained `online` while linked; `offline` once the unit stops cleanly.

    A clean disconnect gets no last will from the broker, so the unit says it.
    """
    serial = cloud_world.fleet.units[0].unit.identity.serial
    link = cloud_world.fleet.cloud_links[0]
    await linked(link.unit)
    assert await retained_availability(cloud_world, serial) == b"online"
    await link.stop()
    assert await retained_availability(cloud_world, serial) == b"offline"


async def test_a_lost_link_leaves_the_last_will_offline(
    cloud_world: CloudWorld,
) -> None:
    """A link lost without a DISCONNECT turns into a retained `offline` (last will).

    The unit reaches the broker through a relay that is then cut: the unit still
    runs and keeps trying, so only the broker can say that it is gone.
    """
    fleet_link = cloud_world.fleet.cloud_links[0]
    unit = fleet_link.unit
    serial = unit.identity.serial
    # Stopped once up: aiomqtt leaks a session cancelled in the middle of CONNECT.
    await linked(unit)
    await fleet_link.stop()
    relay = Relay(cloud_world.endpoint)
    link = UnitCloudLink(unit, await relay.start())
    await link.start()
    try:
        await linked(unit)
        assert await retained_availability(cloud_world, serial) == b"online"
        await relay.cut()
        async with asyncio.timeout(5):
            while await retained_availability(cloud_world, serial) != b"offline":
                await asyncio.sleep(0.05)
    finally:
        await link.stop()


async def test_a_publish_as_the_link_drops_leaves_no_stray_error(
    cloud_world: CloudWorld,
) -> None:
    """A publish in the very turn the connection ends fails quietly, or not at all.

    The end of the connection is already waiting on the socket when the publish
    runs: paho asks for the socket's writer, then reads the end and closes the
    socket. aiomqtt 2.5.1 registered that writer a turn later, on the closed
    descriptor, and the event loop reported an OSError nobody could catch (Home
    Assistant's test harness fails a test on it).
    """
    reported: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    relay = Relay(cloud_world.endpoint)
    client = make_client(
        await relay.start(),
        username=CONTROLLER,
        password=cloud_world.directory.controller_secret,
        identifier="publish-as-it-drops",
    )
    try:
        with contextlib.suppress(aiomqtt.MqttError):
            async with client:
                await client.publish("qrad/v1/dev/test/telemetry", "before", qos=1)
                relay.end_now()
                # Blocks the loop on purpose: the end arrives before it looks.
                time.sleep(0.2)  # noqa: ASYNC251
                publish = asyncio.create_task(
                    client.publish("qrad/v1/dev/test/telemetry", "during", qos=1)
                )
                await asyncio.gather(publish, return_exceptions=True)
                await asyncio.sleep(0.2)
    finally:
        loop.set_exception_handler(previous)
    assert [context.get("exception") for context in reported] == []


async def test_report_work_that_fails_with_its_session_leaves_no_stray_error() -> None:
    """Work beside a session that ends with it is awaited, its failure retrieved."""
    reported: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))

    async def report() -> None:
        raise aiomqtt.MqttError("Disconnected during message iteration")

    try:
        async with alongside(report(), "test"):
            await asyncio.sleep(0.01)
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert reported == []


class Relay:
    """A TCP relay from a unit to the broker: a network path that can be cut."""

    def __init__(self, broker: BrokerEndpoint) -> None:
        """Relay to `broker` (nothing listens until `start`)."""
        self._broker = broker
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._relays: set[asyncio.Task[Any]] = set()

    async def start(self) -> BrokerEndpoint:
        """Listen on a loopback port: the endpoint to give the unit."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return BrokerEndpoint(host="127.0.0.1", port=port, ca=self._broker.ca)

    def end_now(self) -> None:
        """End every connection to the unit now, before the event loop runs again."""
        for writer in self._writers[::2]:
            writer.transport.get_extra_info("socket").shutdown(socket.SHUT_RDWR)

    async def cut(self) -> None:
        """Drop every connection at once (no DISCONNECT reaches the broker).

        New connections are refused from then on.
        """
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        await asyncio.gather(*self._relays)
        await self._server.wait_closed()

    async def _relay(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._relays.add(task)
        up_reader, up_writer = await asyncio.open_connection(
            self._broker.host, self._broker.port
        )
        self._writers += [writer, up_writer]
        await asyncio.gather(
            _pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True
        )


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction until it ends, then close the side it wrote to."""
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()
