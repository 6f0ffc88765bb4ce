"""Pytest fixtures that start emulated Q.rads over real sockets (a pytest plugin).

Use with `pytest_plugins = ["simulator.testing"]`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import socket

import aiohttp
import pytest

from .device.server import UnitServer
from .fleet import Fleet, FleetConfig, lan_pool


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def qrad_fleet() -> AsyncIterator[Fleet]:
    """One emulated Q.rad at 60x, not announced (discovery tests announce their own)."""
    base_port = 8080 if lan_pool() else free_port()
    fleet = Fleet(FleetConfig(count=1, base_port=base_port, speed=60, announce=False))
    async with fleet:
        yield fleet


@pytest.fixture
def qrad_unit(qrad_fleet: Fleet) -> UnitServer:
    """The fleet's one unit."""
    return qrad_fleet.units[0]


@pytest.fixture
async def qrad_token(qrad_unit: UnitServer) -> str:
    """A token obtained the way an owner would: button, then pairing request."""
    qrad_unit.press_button()
    pairing = f"{qrad_unit.url}/pairing"
    async with (
        aiohttp.ClientSession() as session,
        session.post(pairing, json={"client_name": "tests"}) as answer,
    ):
        token: str = (await answer.json())["token"]
        return token
