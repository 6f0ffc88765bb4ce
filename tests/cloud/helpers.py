"""Clients for the cloud tests: the integration's cloud client and raw MQTT peers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import json

import aiomqtt

from custom_components.qrad.api import HvacMode, Preset
from custom_components.qrad.api.cloud import QradCloud
from custom_components.qrad.api.cloud_models import Heating, Origin, Setpoint
from custom_components.qrad.api.outbox import MemoryStore, Outbox, OutboxStore
from simulator.cloud.link import make_client
from simulator.testing import CloudWorld


def setpoint_payload(
    serial: str, seq: int, *, target: float = 22.0, origin: str = "user"
) -> str:
    """A setpoint as the integration publishes it (protocol 6.3), on the wire."""
    return json.dumps(
        {
            "serial": serial,
            "target_temperature": target,
            "hvac_mode": "heat",
            "preset": "none",
            "power_limit_w": 500,
            "origin": origin,
            "timestamp": "2026-11-25T07:30:02.418Z",
            "seq": seq,
        }
    )


async def account_client(
    world: CloudWorld,
    account: str,
    secret: str | None = None,
    store: OutboxStore | None = None,
) -> QradCloud:
    """The integration's cloud client for `account`, connected over TLS."""
    outbox = Outbox(store or MemoryStore())
    await outbox.load()
    ca = world.endpoint.ca
    assert ca is not None
    cloud = QradCloud(
        world.endpoint.host,
        world.endpoint.port,
        account,
        secret if secret is not None else world.directory.accounts[account],
        outbox=outbox,
        ca_data=ca.read_text(),
    )
    await cloud.connect()
    return cloud


async def submit(cloud: QradCloud, serial: str, target: float) -> Setpoint:
    """A setpoint as the climate entity sends it."""
    heating = Heating(
        target_temperature=target,
        hvac_mode=HvacMode.HEAT,
        preset=Preset.NONE,
        power_limit_w=500.0,
    )
    return await cloud.submit(serial, heating, Origin.USER)


def raw_client(world: CloudWorld, username: str, password: str) -> aiomqtt.Client:
    """A bare MQTT peer, to try what the rules should refuse."""
    return make_client(
        world.endpoint,
        username=username,
        password=password,
        identifier=f"raw-{username}",
    )


async def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll `condition` (real sockets, accelerated time) until true."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)
