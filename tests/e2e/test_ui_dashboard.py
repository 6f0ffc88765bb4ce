"""The dashboard in a real browser: log in, turn a thermostat up, see the Q.rad follow.

Debian's chromium, driven by Playwright (its Python package, no downloaded
browser), headless. The screenshot is kept with the run's logs.
"""

from __future__ import annotations

import asyncio
import re

from playwright.sync_api import Page, expect
import pytest

from simulator.house import DASHBOARD, HomeAssistantApi

from .browser import CHROMIUM, logged_in
from .conftest import House
from .steps import living_room_paired, shot
from .test_house import CLIMATE, act, eventually, set_temperature, unit_debug

# Longer than Home Assistant takes to call an unreachable Q.rad unavailable.
OFFLINE_S = 30


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_thermostat_card_turns_the_qrad_up(house: House) -> None:
    """A click on the card's + reaches the emulated Q.rad; the dashboard is shot."""

    async def prepare(api: HomeAssistantApi) -> float:
        await living_room_paired(house, api)
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


def _rooms_card(page: Page, text: str | re.Pattern[str]) -> None:
    """The building view's Rooms card comes to show `text`."""
    card = page.locator("hui-markdown-card").filter(has_text="as asked")
    expect(card).to_contain_text(text, timeout=90_000)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_the_building_view_lists_cold_then_offline_rooms(house: House) -> None:
    """A manager sees the room far below its target as cold, then as offline."""

    async def cold(api: HomeAssistantApi) -> float:
        await living_room_paired(house, api)
        before = float((await unit_debug(house))["target_temperature"])
        await set_temperature(api, 30.0)
        return before

    before = act(house, cold)
    with logged_in(house, f"/{DASHBOARD}/building") as page:
        _rooms_card(page, "1 cold")
        _rooms_card(page, re.compile(r"Living Room\s+[\d.]+ °C\s+30.0 °C\s+cold"))
        shot(house, page, "building-cold")
        answer = page.request.post(
            f"{house.unit_url(0)}/_emulator/faults",
            data={"fault": "refuse_connections", "seconds": OFFLINE_S},
        )
        assert answer.ok
        _rooms_card(page, "1 offline")
        _rooms_card(page, re.compile(r"Living Room\s+- °C\s+- °C\s+offline"))
        shot(house, page, "building-offline")

    async def back(api: HomeAssistantApi) -> None:
        async def available() -> bool:
            state = await api.state(CLIMATE)
            return state is not None and state["state"] != "unavailable"

        await eventually(available, limit_s=OFFLINE_S + 60)
        await set_temperature(api, before)

    act(house, back)
