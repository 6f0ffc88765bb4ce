"""What happens around the emulated Q.rad: phones, people, windows (protocol 7)."""

from __future__ import annotations

from typing import Any

import aiohttp

from simulator.device.server import UnitServer


async def emulate(unit: UnitServer, **body: Any) -> None:
    """Make it happen through the unit's emulator endpoint, over HTTP."""
    url = f"http://{unit.host}:{unit.port}/_emulator/events"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body) as answer,
    ):
        assert answer.status == 200, await answer.text()
