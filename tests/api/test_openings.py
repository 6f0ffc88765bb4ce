"""Clients sharing `openings` never have more requests and streams opening at once."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import aiohttp

from custom_components.qrad.api import QradState
from simulator.device.server import UnitServer

from .support import client

CLIENTS = 8
AT_ONCE = 2


async def test_a_building_starting_at_once_opens_a_few_at_a_time(
    qrad_unit: UnitServer, qrad_token: str
) -> None:
    """Eight Q.rads read and opened together: two at a time, all served."""
    in_flight = peak = 0

    async def started(*_args: object) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)

    async def ended(*_args: object) -> None:
        nonlocal in_flight
        in_flight -= 1

    tracing = aiohttp.TraceConfig(trace_config_ctx_factory=SimpleNamespace)
    tracing.on_request_start.append(started)
    tracing.on_request_end.append(ended)
    tracing.on_request_exception.append(ended)
    openings = asyncio.Semaphore(AT_ONCE)
    async with aiohttp.ClientSession(trace_configs=[tracing]) as session:
        devices = [
            client(qrad_unit, qrad_token, session=session, openings=openings)
            for _ in range(CLIENTS)
        ]
        states = await asyncio.gather(*(device.state() for device in devices))
        assert all(isinstance(state, QradState) for state in states)
        assert peak == AT_ONCE

        seen: list[asyncio.Event] = [asyncio.Event() for _ in devices]
        peak = 0
        listening = [
            asyncio.create_task(device.listen(lambda _state, got=got: got.set()))
            for device, got in zip(devices, seen, strict=True)
        ]
        try:
            async with asyncio.timeout(10):
                await asyncio.gather(*(got.wait() for got in seen))
        finally:
            for task in listening:
                task.cancel()
            await asyncio.gather(*listening, return_exceptions=True)
        assert peak == AT_ONCE
