"""Fixtures of the device-client tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from custom_components.qrad.api import QradDevice
from custom_components.qrad.api.backoff import Backoff
import custom_components.qrad.api.device as device_module
from simulator.device.server import UnitServer
from simulator.fleet import Fleet, FleetConfig
from simulator.testing import free_port

from .support import client


@pytest.fixture
async def device(qrad_unit: UnitServer, qrad_token: str) -> AsyncIterator[QradDevice]:
    """A paired client of the emulated unit."""
    async with client(qrad_unit, qrad_token) as paired:
        yield paired


@pytest.fixture
def fast_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconnect after 50 ms instead of 1 s, so that fault tests stay short."""
    monkeypatch.setattr(
        device_module, "RECONNECT_BACKOFF", Backoff(start_s=0.05, cap_s=60.0)
    )


@pytest.fixture
async def still_unit() -> AsyncIterator[UnitServer]:
    """An emulated unit whose time stands still: nothing changes unless a test acts.

    Its stream then carries only what the test causes (and a heartbeat every 10 s),
    so that a fault aimed at "the next update" hits the test's own update.
    """
    config = FleetConfig(
        count=1, base_port=free_port(), speed=0, announce=False, auto_pair=True
    )
    async with Fleet(config) as fleet:
        unit = fleet.units[0]
        unit.unit.step(0.0)  # the first tick's change, published now
        await unit.publish()
        yield unit


@pytest.fixture
async def still_device(still_unit: UnitServer) -> AsyncIterator[QradDevice]:
    """A paired client of the still unit."""
    async with client(still_unit) as paired:
        await paired.pair("tests")
        yield paired
