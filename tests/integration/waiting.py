"""Waiting for what Home Assistant does in the background."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from homeassistant.core import HomeAssistant


async def wait_for(
    hass: HomeAssistant, check: Callable[[], bool], limit: float = 20
) -> None:
    """Wait until check() holds, letting Home Assistant work meanwhile."""
    async with asyncio.timeout(limit):
        while not check():
            await asyncio.sleep(0.05)
            await hass.async_block_till_done()
