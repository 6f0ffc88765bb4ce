"""Pytest fixtures that start emulated Q.rads over real sockets (a pytest plugin).

Use with `pytest_plugins = ["simulator.testing"]`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
import json
from pathlib import Path
import socket
from typing import Any

import aiohttp
import pytest

from .cloud.access import Directory
from .cloud.certs import make_tls_files
from .cloud.controller import Controller
from .cloud.embedded import EmbeddedBroker
from .cloud.endpoint import BrokerEndpoint, TlsFiles
from .cloud.mosquitto import Mosquitto
from .device.server import UnitServer
from .fleet import Fleet, FleetConfig, lan_pool


class FileStore:
    """An outbox store in a JSON file, as Home Assistant's Store keeps one."""

    def __init__(self, path: Path) -> None:
        """Keep the outbox at `path`."""
        self.path = path

    async def async_load(self) -> dict[str, Any] | None:
        """What the file holds."""
        data: dict[str, Any] | None = (
            json.loads(self.path.read_text()) if self.path.exists() else None
        )
        return data

    async def async_save(self, data: dict[str, Any]) -> None:
        """Replace the file."""
        self.path.write_text(json.dumps(data))


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def free_port_range(count: int, avoid: set[int] | None = None) -> int:
    """The first of `count` consecutive loopback ports nobody listens on."""
    avoid = avoid or set()
    for _ in range(100):
        base = free_port()
        ports = range(base, base + count)
        if avoid.isdisjoint(ports) and all(_bindable(port) for port in ports):
            return base
    raise RuntimeError(f"no {count} consecutive free ports")


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


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


@dataclass
class CloudWorld:
    """Emulated Q.rads linked to a real broker and a running controller."""

    fleet: Fleet
    broker: Mosquitto | EmbeddedBroker
    controller: Controller

    @property
    def endpoint(self) -> BrokerEndpoint:
        """Where the broker listens."""
        return self.broker.endpoint

    @property
    def directory(self) -> Directory:
        """Accounts, units and secrets."""
        return self.fleet.directory

    def account_of(self, unit: UnitServer) -> tuple[str, str]:
        """The account id and secret that own `unit`."""
        account = unit.unit.identity.account
        return account, self.directory.accounts[account]


@pytest.fixture
def cloud_tls(tmp_path: Path) -> TlsFiles:
    """A throw-away CA and a broker certificate for 127.0.0.1."""
    return make_tls_files(tmp_path / "tls", ["127.0.0.1", "localhost"])


@pytest.fixture(params=["mosquitto", "embedded"])
def broker_kind(request: pytest.FixtureRequest) -> str:
    """Each cloud test runs on mosquitto (the reference) and on the embedded broker."""
    kind: str = request.param
    return kind


@contextlib.asynccontextmanager
async def running_cloud_world(
    tls: TlsFiles,
    workdir: Path,
    *,
    broker_kind: str = "mosquitto",
    count: int = 4,
    accounts: int = 2,
    speed: float = 60,
    policy: str = "pi",
) -> AsyncIterator[CloudWorld]:
    """Q.rads linked to a TLS broker (mosquitto or embedded) and the controller."""
    broker_port = free_port()
    endpoint = BrokerEndpoint(host="127.0.0.1", port=broker_port, ca=tls.ca)
    fleet = Fleet(
        FleetConfig(
            count=count,
            base_port=free_port_range(count, avoid={broker_port}),
            speed=speed,
            announce=False,
            accounts=accounts,
            cloud=endpoint,
        )
    )
    broker_class = Mosquitto if broker_kind == "mosquitto" else EmbeddedBroker
    broker = broker_class(
        fleet.directory,
        workdir / "broker",
        host=endpoint.host,
        port=endpoint.port,
        tls=tls,
    )
    await broker.start()
    controller = Controller(fleet.directory, endpoint, fleet.clock, policy=policy)
    await controller.start()
    await asyncio.wait_for(controller.connected.wait(), 20)
    world = CloudWorld(fleet=fleet, broker=broker, controller=controller)
    try:
        async with fleet:
            yield world
    finally:
        # A test may have replaced the controller (a controller restart).
        await world.controller.stop()
        await broker.stop()


@pytest.fixture
async def cloud_world(
    broker_kind: str, cloud_tls: TlsFiles, tmp_path: Path
) -> AsyncIterator[CloudWorld]:
    """Four Q.rads of two accounts, a TLS broker and the controller, at 60x."""
    async with running_cloud_world(
        cloud_tls, tmp_path, broker_kind=broker_kind
    ) as world:
        yield world
