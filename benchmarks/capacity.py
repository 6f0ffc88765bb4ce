"""How many Q.rads one emulator process sustains: the fleet's tick against its budget.

For each count the world (benchmarks/world.py: the fleet at speed 1, the
controller and mosquitto) runs on loopback ports, without Home Assistant; the
benchmark holds one event stream per unit open (as Home Assistant would) and
only counts the frames. Over a window of a bit more than one control period it
reads each tick's duration (step every unit, diff and push their changes)
against the fleet's 1 s tick, the controller's work per control period against
its 30 s period, and the CPU of the world process and of mosquitto.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
import time
from typing import Any

import aiohttp

from .run import WorldProcess
from .stats import cpu_reading, summary

TICK_BUDGET_MS = 1000.0
CONTROL_PERIOD_MS = 30_000.0


async def _read(
    session: aiohttp.ClientSession, url: str, token: str, counts: list[int]
) -> None:
    async with session.ws_connect(
        url, headers={"Authorization": f"Bearer {token}"}, heartbeat=None
    ) as socket:
        async for message in socket:
            if message.type is not aiohttp.WSMsgType.TEXT:
                return
            counts[0] += 1


async def measure_capacity(
    count: int, workdir: Path, window_s: float, say: Callable[[str], None]
) -> dict[str, Any]:
    """Tick and control-period work of `count` units with their streams open."""
    world = WorldProcess(count, workdir / f"capacity-n{count}", loopback=True)
    began = time.monotonic()
    await world.start()
    try:
        units = await world.pair_all()
        start_s = time.monotonic() - began
        counts = [0]
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            readers = [
                asyncio.create_task(
                    _read(
                        session,
                        f"http://{u.host}:{u.port}/api/v1/events",
                        u.token,
                        counts,
                    )
                )
                for u in units
            ]
            await asyncio.sleep(5)
            await world.call("GET", "/ticks?reset=1")
            world_before = cpu_reading(world.pid)
            all_before = cpu_reading(world.pid, children=True)
            frames_before = counts[0]
            started = time.monotonic()
            await asyncio.sleep(window_s)
            elapsed = time.monotonic() - started
            world_after = cpu_reading(world.pid)
            all_after = cpu_reading(world.pid, children=True)
            frames = counts[0] - frames_before
            ticks = await world.call("GET", "/ticks?reset=1")
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
    finally:
        await world.stop()
    world_cpu = 100 * (world_after.total - world_before.total) / elapsed
    broker_cpu = 100 * (all_after.total - all_before.total) / elapsed - world_cpu
    tick = summary(ticks["ticks"], 1000)
    period = summary(ticks["periods"], 1000)
    result = {
        "size": count,
        "start_and_pair_s": round(start_s, 1),
        "window_s": round(elapsed, 1),
        "tick_ms": tick,
        "tick_budget_share_p99": round(tick.get("p99", 0) / TICK_BUDGET_MS, 3),
        "control_period_ms": period,
        "world_cpu_percent": round(world_cpu, 1),
        "mosquitto_cpu_percent": round(broker_cpu, 1),
        "frames_per_s": round(frames / elapsed, 1),
    }
    say(
        f"  capacity {count}: tick p50 {tick.get('p50')} ms p99 {tick.get('p99')} "
        f"ms, controller period {period.get('max')} ms, world "
        f"{result['world_cpu_percent']} % CPU, {result['frames_per_s']} frames/s"
    )
    return result
