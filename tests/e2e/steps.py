"""Steps the browser tests share: the Q.rad they use, and their screenshots."""

from __future__ import annotations

import asyncio

from playwright.sync_api import Page

from simulator.house import (
    HomeAssistantApi,
    discovered_qrads,
    pair_flow,
    place_in_rooms,
    publish_dashboard,
)

from .conftest import House
from .test_house import CLIMATE


async def living_room_paired(house: House, api: HomeAssistantApi) -> None:
    """Paired by test_house.py when the whole suite runs; alone, pair it here."""
    while await api.state(CLIMATE) is None:
        for flow in await discovered_qrads(api):
            if flow["context"]["title_placeholders"]["name"] == "Living room":
                await pair_flow(api, flow["flow_id"], house.directory)
        await asyncio.sleep(0.5)
    await place_in_rooms(api)
    await publish_dashboard(api)


def shot(house: House, page: Page, name: str) -> None:
    """Keep what the page shows now with the run's logs, as owner-<name>.png."""
    page.screenshot(path=str(house.workdir / f"owner-{name}.png"))
