"""The emulated unit's own MQTT link (docs/protocol.md 6.2, 6.6), over a real broker."""

from __future__ import annotations

import asyncio

from simulator.cloud.access import CONTROLLER
from simulator.cloud.link import make_client
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


async def test_availability_is_online_then_offline_when_the_unit_stops(
    cloud_world: CloudWorld,
) -> None:
    """Retained `online` while linked; `offline` once the unit stops cleanly.

    A clean disconnect gets no last will from the broker, so the unit says it.
    """
    serial = cloud_world.fleet.units[0].unit.identity.serial
    link = cloud_world.fleet.cloud_links[0]
    async with asyncio.timeout(5):
        while not link.unit.cloud_connected:
            await asyncio.sleep(0.02)
    assert await retained_availability(cloud_world, serial) == b"online"
    await link.stop()
    assert await retained_availability(cloud_world, serial) == b"offline"
