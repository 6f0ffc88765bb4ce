"""The dashboard in a real browser: log in, turn a thermostat up, see the Q.rad follow.

Debian's chromium, driven by Playwright (its Python package, no downloaded
browser), headless. The screenshot is kept with the run's logs.
"""

from __future__ import annotations

import asyncio

import pytest

from simulator.house import (
    DASHBOARD,
    HomeAssistantApi,
    discovered_qrads,
    pair_flow,
    place_in_rooms,
    publish_dashboard,
)

from .browser import CHROMIUM, logged_in
from .conftest import House
from .test_house import act, unit_debug


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_thermostat_card_turns_the_qrad_up(house: House) -> None:
    """A click on the card's + reaches the emulated Q.rad; the dashboard is shot."""

    async def prepare(api: HomeAssistantApi) -> float:
        # Paired by test_house.py when the whole suite runs; alone, pair it here.
        while await api.state("climate.living_room") is None:
            flows = await discovered_qrads(api)
            living = [
                flow
                for flow in flows
                if flow["context"]["title_placeholders"]["name"] == "Living room"
            ]
            if living:
                await pair_flow(api, living[0]["flow_id"], house.directory)
            await asyncio.sleep(0.5)
        await place_in_rooms(api)
        await publish_dashboard(api)
        return float((await unit_debug(house))["target_temperature"])

    before = act(house, prepare)
    shot = house.workdir / "dashboard.png"
    with logged_in(house, f"/{DASHBOARD}/rooms") as page:
        card = page.locator("hui-thermostat-card").first
        # The dial is a slider: one step up with the keyboard, as a user would
        # after tabbing to it (its + button has no accessible name here).
        try:
            slider = card.get_by_role("slider").first
            slider.focus()
            slider.press("ArrowUp")
        finally:
            page.screenshot(path=str(shot))
        page.wait_for_timeout(3000)
        page.screenshot(path=str(shot))

    async def after(api: HomeAssistantApi) -> None:
        for _ in range(60):
            if (await unit_debug(house))["target_temperature"] == before + 0.5:
                return
            await asyncio.sleep(0.5)
        raise AssertionError("the Q.rad's target did not follow the card")

    act(house, after)
    assert shot.stat().st_size > 10_000
