"""Pairing the discovered Q.rad in a real browser, as a homeowner does, five times.

Settings → Devices & services → Discovered → Add → Submit, then the Q.rad's
button, pressed at another moment each time: before the dialog opens, right
after Submit, and a few seconds into the wait. The dialog must reach "Name and
assign" every time: Home Assistant 2026.10's dialog listens for the end of the
wait only once it has drawn its spinner, and missed a press that came sooner.
Between two pairings the Q.rad's entry is deleted, and Home Assistant offers
the Q.rad again. Debian's chromium, driven by Playwright; a screenshot of each
pairing's dialog is kept with the run's logs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
import re
import shutil
import time
import urllib.request

from playwright.sync_api import Page, expect, sync_playwright
import pytest

from simulator.house import (
    DEMO_PASSWORD,
    DEMO_USER,
    HomeAssistantApi,
    discovered_qrads,
    pair_flow,
)

from .conftest import House
from .test_house import act, eventually

CHROMIUM = shutil.which("chromium", path="/usr/bin:/usr/lib/chromium")
BEDROOM = 1
MOMENTS = ["before", "at_once", "later", "before", "at_once"]
FINISH = re.compile("finish", re.IGNORECASE)

pytestmark = pytest.mark.timeout(600)


def emulator(house: House, path: str, body: bytes = b"{}") -> None:
    """One of the emulated Q.rad's hands (section 7 of docs/protocol.md)."""
    request = urllib.request.Request(  # noqa: S310 - the emulated LAN
        f"{house.unit_url(BEDROOM)}/_emulator/{path}",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        assert answer.status == 200


def beside(
    house: House, scenario: Callable[[HomeAssistantApi], Awaitable[object]]
) -> None:
    """`act`, from a thread of its own: Playwright's loop holds this one."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(act, house, scenario).result()


async def offered(api: HomeAssistantApi, name: str) -> list[dict[str, object]]:
    """The discovered flows of the Q.rad called `name`."""
    return [
        flow
        for flow in await discovered_qrads(api)
        if flow["context"]["title_placeholders"]["name"] == name
    ]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_pairing_the_discovered_qrad_in_the_dialog_never_hangs(house: House) -> None:
    """Five pairings through the dialog, each press at another moment."""

    async def prepare(api: HomeAssistantApi) -> None:
        # The account's entry comes with the first Q.rad (test_house.py pairs
        # it when the whole suite runs): then no pairing asks for the account.
        while await api.state("climate.living_room") is None:
            if living := await offered(api, "Living room"):
                await pair_flow(api, str(living[0]["flow_id"]), house.directory)
            time.sleep(0.5)  # noqa: ASYNC251 - a pause between two looks

    act(house, prepare)
    emulator(house, "pairing", b'{"auto": false}')
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{house.ha_url}/config/integrations/dashboard")
        page.get_by_role("textbox", name="Username").fill(DEMO_USER)
        page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/config/integrations/dashboard", timeout=60_000)
        try:
            _pair_five_times(house, page)
        finally:
            page.screenshot(path=str(house.workdir / "pairing-last.png"))
            browser.close()


def _pair_five_times(house: House, page: Page) -> None:
    """Add, Submit, the button at its moment, Name and assign, then unpair."""
    for attempt, moment in enumerate(MOMENTS):
        beside(house, lambda api: eventually(lambda: _is_offered(api), limit_s=60))
        page.goto(f"{house.ha_url}/config/integrations/dashboard")
        card = page.locator("ha-config-flow-card", has_text="Bedroom")
        if moment == "before":
            emulator(house, "button")
        card.get_by_role("button", name="Add").click()
        page.get_by_role("button", name="Submit").click()
        if moment == "at_once":
            emulator(house, "button")
        if moment == "later":
            expect(page.get_by_text("Press the button")).to_be_visible(timeout=15_000)
            page.wait_for_timeout(3000)
            emulator(house, "button")
        shot = house.workdir / f"pairing-{attempt + 1}-{moment}.png"
        try:
            expect(page.get_by_text("Name and assign")).to_be_visible(timeout=30_000)
        finally:
            page.screenshot(path=str(shot))
        page.get_by_role("button", name=FINISH).click()
        beside(house, _unpair_bedroom)


async def _is_offered(api: HomeAssistantApi) -> bool:
    return bool(await offered(api, "Bedroom"))


async def _unpair_bedroom(api: HomeAssistantApi) -> None:
    """Delete the Bedroom's entry, as its page's Delete does."""
    entries = await api.get("/api/config/config_entries/entry")
    (bedroom,) = [entry for entry in entries if entry["title"] == "Bedroom"]
    await api.delete(f"/api/config/config_entries/entry/{bedroom['entry_id']}")
