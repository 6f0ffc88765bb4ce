"""An owner's other flows in a real browser, each checked where the owner sees it.

Assist typed into its dialog, the options flow's steps, and pairing again from
the card Home Assistant shows when a Q.rad revoked its token. Each step's
screenshot is kept with the run's logs (`owner-*.png`).
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect
import pytest

from simulator.house import (
    HomeAssistantApi,
)

from .browser import CHROMIUM, logged_in
from .conftest import House
from .steps import living_room_paired, shot
from .test_house import CLIMATE, act, cloud_view, eventually, unit_debug

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]
LIVING_ROOM = 0
ENERGY = "sensor.living_room_energy"
SUBMIT = re.compile("^(submit|next)$", re.IGNORECASE)
FINISH = re.compile("finish", re.IGNORECASE)
WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def test_assist_typed_in_its_dialog_turns_the_living_room_up(house: House) -> None:
    """The Assist dialog of the dashboard: a typed request, the Q.rad follows."""
    act(house, lambda api: living_room_paired(house, api))
    with logged_in(house, "/dashboard-qrads/rooms") as page:
        try:
            page.get_by_role("button", name=re.compile("^Assist")).click()
            request = page.get_by_role(
                "textbox", name=re.compile("request", re.IGNORECASE)
            )
            request.fill("set the living room to 21.5 degrees")
            request.press("Enter")
            # Assist's answer, below the request that also says 21.5.
            answer = page.get_by_text(re.compile(r"set to 21\.5", re.IGNORECASE))
            expect(answer.first).to_be_visible(timeout=15_000)
        finally:
            shot(house, page, "assist")

    async def followed(_api: HomeAssistantApi) -> None:
        async def on_the_qrad() -> bool:
            return (await unit_debug(house, LIVING_ROOM))["target_temperature"] == 21.5

        await eventually(on_the_qrad, 30)

    act(house, followed)


def _options_step(house: House, page: Page, step: str) -> None:
    """The Living room's entry, its Configure button, then `step` of the menu."""
    page.goto(f"{house.ha_url}/config/integrations/integration/qrad")
    entry = page.locator("ha-config-entry-row", has_text="Living room").first
    entry.get_by_role("button", name="Configure").click()
    expect(page.get_by_text("What do you want to change?")).to_be_visible()
    page.get_by_text(step).click()


def _writes(house: House, section: str) -> list[dict[str, Any]]:
    async def read(_api: HomeAssistantApi) -> list[dict[str, Any]]:
        debug = await unit_debug(house, LIVING_ROOM)
        return [w for w in debug["writes"] if w["path"].endswith(section)]

    found: list[dict[str, Any]] = act(house, read)
    return found


def test_the_options_flow_changes_presets_clients_and_window(house: House) -> None:
    """Each step of the options menu, and where its change shows."""
    act(house, lambda api: living_room_paired(house, api))
    with logged_in(house, "/config/integrations/integration/qrad") as page:
        try:
            _options_step(house, page, "Preset temperatures")
            page.get_by_role("spinbutton", name="Comfort").fill("21.5")
            shot(house, page, "options-presets")
            page.get_by_role("button", name=SUBMIT).click()
            expect(page.get_by_text(re.compile("saved", re.IGNORECASE))).to_be_visible()
            page.get_by_role("button", name=FINISH).click()

            for drop, name in (("1.5", "options-window"), (None, "options-window-2")):
                _options_step(house, page, "Open window detection")
                field = page.get_by_role("spinbutton", name="Temperature drop")
                shot(house, page, name)
                if drop is None:  # the second time: what was saved is shown
                    expect(field).to_have_value("1.5")
                    page.keyboard.press("Escape")
                    continue
                field.fill(drop)
                page.get_by_role("button", name=SUBMIT).click()
                page.get_by_role("button", name=FINISH).click()

            # A phone joins the Living room's Wi-Fi (an emulator event,
            # section 7), through the page: Playwright's loop holds the thread.
            joined = page.request.post(
                f"{house.unit_url(LIVING_ROOM)}/_emulator/events",
                data={"event": "client_join", "name": "Owner phone"},
            )
            assert joined.ok
            _options_step(house, page, "Wi-Fi clients")
            page.get_by_role("radio", name="All clients").check()
            shot(house, page, "options-clients")
            page.get_by_role("button", name=SUBMIT).click()
            page.get_by_role("button", name=FINISH).click()
        finally:
            shot(house, page, "options-last")
    presets = [
        w["body"].get("preset_temperatures", {}) for w in _writes(house, "thermostat")
    ]
    assert any(written.get("comfort") == 21.5 for written in presets)

    async def tracked(api: HomeAssistantApi) -> None:
        await eventually(lambda: _available(api, "device_tracker.owner_phone"), 60)

    act(house, tracked)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_the_schedule_option_sends_the_plan_to_the_cloud(house: House) -> None:
    """A schedule helper picked in the options: its periods reach the cloud, planned."""
    mornings = [{"from": "07:00:00", "to": "09:00:00"}]

    async def prepare(api: HomeAssistantApi) -> None:
        await living_room_paired(house, api)
        if await api.state("schedule.mornings") is None:
            await api.ws(
                "schedule/create", name="Mornings", **dict.fromkeys(WEEK, mornings)
            )

    act(house, prepare)
    with logged_in(house, "/config/integrations/integration/qrad") as page:
        try:
            _options_step(house, page, "Schedule")
            page.locator("ha-entity-picker").click()
            # The picker's list is open (and its search field focused).
            expect(page.get_by_text("Create a new Schedule helper")).to_be_visible()
            choice = page.get_by_text("Mornings", exact=True)
            expect(choice).to_be_visible()
            shot(house, page, "options-schedule-picker")
            choice.click()
            expect(page.locator("ha-entity-picker")).to_contain_text("Mornings")
            shot(house, page, "options-schedule")
            page.get_by_role("button", name=SUBMIT).click()
            page.get_by_role("button", name=FINISH).click()
        finally:
            shot(house, page, "options-schedule-last")

    async def planned(api: HomeAssistantApi) -> None:
        async def sent() -> bool:
            plan = (await cloud_view(house)).get("plan", {})
            return plan.get("source") == "schedule" and len(plan["changes"]) >= 2

        await eventually(sent, 60)

    act(house, planned)


async def _available(api: HomeAssistantApi, entity_id: str) -> bool:
    state = await api.state(entity_id)
    return state is not None and state["state"] != "unavailable"


def test_a_revoked_token_is_paired_again_from_the_card(house: House) -> None:
    """The Q.rad forgets Home Assistant: its card asks to pair again, and it works."""
    act(house, lambda api: living_room_paired(house, api))
    # What Home Assistant logs, rightly, when the Q.rad refuses the token.
    house.expected_in_log.append(
        "Authentication failed while fetching qrad Living room data"
    )

    async def revoke(api: HomeAssistantApi) -> None:
        async with api.session.post(
            f"{house.unit_url(LIVING_ROOM)}/_emulator/faults",
            json={"fault": "revoke_tokens"},
        ) as answer:
            assert answer.status == 200

        async def reauth_offered() -> bool:
            flows = await api.ws("config_entries/flow/progress")
            return any(f["context"].get("source") == "reauth" for f in flows)

        await eventually(reauth_offered, 60)

    act(house, revoke)
    with logged_in(house, "/config/integrations/dashboard") as page:
        try:
            card = page.locator("ha-config-flow-card", has_text="Living room").first
            expect(card).to_be_visible(timeout=30_000)
            shot(house, page, "reauth-card")
            card.get_by_role(
                "button", name=re.compile("reconfigure", re.IGNORECASE)
            ).click()
            expect(page.get_by_text("Pair Living room again")).to_be_visible()
            page.get_by_role("button", name=SUBMIT).click()
            expect(page.get_by_text("Re-authentication was successful")).to_be_visible(
                timeout=30_000
            )
            shot(house, page, "reauth-done")
        finally:
            shot(house, page, "reauth-last")
    act(house, lambda api: eventually(lambda: _available(api, CLIMATE), 60))
