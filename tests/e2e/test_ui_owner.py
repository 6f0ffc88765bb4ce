"""An owner's other flows in a real browser, each checked where the owner sees it.

The Energy dashboard with the Q.rads' imported week, Assist typed into its
dialog, the options flow's steps, and pairing again from the card Home
Assistant shows when a Q.rad revoked its token. Each step's screenshot is kept
with the run's logs (`owner-*.png`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import re
from typing import Any

from playwright.sync_api import Page, expect
import pytest

from simulator.house import (
    HomeAssistantApi,
    discovered_qrads,
    pair_flow,
    place_in_rooms,
    publish_dashboard,
)
from simulator.house_history import import_past

from .browser import CHROMIUM, logged_in
from .conftest import House
from .test_house import CLIMATE, act, eventually, unit_debug

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]
LIVING_ROOM = 0
ENERGY = "sensor.living_room_energy"
SUBMIT = re.compile("^(submit|next)$", re.IGNORECASE)
FINISH = re.compile("finish", re.IGNORECASE)


async def _living_room_paired(house: House, api: HomeAssistantApi) -> None:
    """Paired by test_house.py when the whole suite runs; alone, pair it here."""
    while await api.state(CLIMATE) is None:
        for flow in await discovered_qrads(api):
            if flow["context"]["title_placeholders"]["name"] == "Living room":
                await pair_flow(api, flow["flow_id"], house.directory)
        await asyncio.sleep(0.5)
    await place_in_rooms(api)
    await publish_dashboard(api)


def _shot(house: House, page: Page, name: str) -> None:
    page.screenshot(path=str(house.workdir / f"owner-{name}.png"))


def test_the_energy_dashboard_shows_the_imported_week(house: House) -> None:
    """The Q.rad's past week in Energy, and the recorder's sums going on from it."""

    async def prepare(api: HomeAssistantApi) -> dict[str, Any]:
        await _living_room_paired(house, api)
        assert await import_past(api) >= 3
        now = datetime.now(UTC)
        rows = await api.ws(
            "recorder/statistics_during_period",
            start_time=(now - timedelta(days=8)).isoformat(),
            statistic_ids=[ENERGY],
            period="hour",
            types=["sum", "state"],
        )
        latest = await api.ws(
            "recorder/statistics_during_period",
            start_time=(now - timedelta(hours=1)).isoformat(),
            statistic_ids=[ENERGY],
            period="5minute",
            types=["sum"],
        )
        state = await api.state(ENERGY)
        assert state is not None
        return {
            "hours": rows[ENERGY],
            "latest": latest[ENERGY][-1]["sum"],
            "meter": float(state["state"]),
        }

    seen = act(house, prepare)
    # More than a day of imported hours, and the recorder's own sum joined to
    # them: its latest equals the meter (give or take what the meter counted
    # since, a few kWh at 60x), not the meter minus what it read at pairing.
    assert len(seen["hours"]) > 24
    assert seen["meter"] - 5 < seen["latest"] <= seen["meter"] + 0.01
    with logged_in(house, "/energy") as page:
        try:
            # The detail chart's legend names the Q.rad; its bars are drawn
            # on a canvas, so their values are the recorder's, read above.
            chart = page.get_by_role("application", name="Chart").first
            expect(chart).to_be_visible(timeout=30_000)
            legend = page.get_by_role("button", name=re.compile("^Living room"))
            expect(legend.first).to_be_visible()
            expect(page.get_by_text("There is no data for this period")).to_have_count(
                0
            )
        finally:
            _shot(house, page, "energy")


def test_assist_typed_in_its_dialog_turns_the_living_room_up(house: House) -> None:
    """The Assist dialog of the dashboard: a typed request, the Q.rad follows."""
    act(house, lambda api: _living_room_paired(house, api))
    with logged_in(house, "/dashboard-qrads/rooms") as page:
        try:
            page.get_by_role("button", name=re.compile("^Assist")).click()
            request = page.get_by_role(
                "textbox", name=re.compile("request", re.IGNORECASE)
            )
            request.fill("set the living room to 21.5 degrees")
            request.press("Enter")
            expect(page.get_by_text(re.compile("21.5"))).to_be_visible(timeout=15_000)
        finally:
            _shot(house, page, "assist")

    async def followed(_api: HomeAssistantApi) -> None:
        async def on_the_qrad() -> bool:
            return (await unit_debug(house, LIVING_ROOM))["target_temperature"] == 21.5

        await eventually(on_the_qrad, 30)

    act(house, followed)


def _open_options(house: House, page: Page) -> None:
    """The Living room's entry, its Configure button: the options menu."""
    page.goto(f"{house.ha_url}/config/integrations/integration/qrad")
    entry = page.locator("ha-config-entry-row", has_text="Living room").first
    entry.get_by_role("button", name="Configure").click()
    expect(page.get_by_text("What do you want to change?")).to_be_visible()


def _writes(house: House, section: str) -> list[dict[str, Any]]:
    async def read(_api: HomeAssistantApi) -> list[dict[str, Any]]:
        debug = await unit_debug(house, LIVING_ROOM)
        return [w for w in debug["writes"] if w["path"].endswith(section)]

    found: list[dict[str, Any]] = act(house, read)
    return found


def test_the_options_flow_changes_presets_clients_and_window(house: House) -> None:
    """Each step of the options menu, and where its change shows."""
    act(house, lambda api: _living_room_paired(house, api))
    with logged_in(house, "/config/integrations/integration/qrad") as page:
        try:
            _open_options(house, page)
            page.get_by_text("Preset temperatures").click()
            comfort = page.get_by_role("spinbutton", name="Comfort")
            comfort.fill("21.5")
            _shot(house, page, "options-presets")
            page.get_by_role("button", name=SUBMIT).click()
            expect(page.get_by_text(re.compile("saved", re.IGNORECASE))).to_be_visible()
            page.get_by_role("button", name=FINISH).click()

            _open_options(house, page)
            page.get_by_text("Open window detection").click()
            drop = page.get_by_role("spinbutton", name="Temperature drop")
            drop.fill("1.5")
            _shot(house, page, "options-window")
            page.get_by_role("button", name=SUBMIT).click()
            page.get_by_role("button", name=FINISH).click()

            _open_options(house, page)
            page.get_by_text("Open window detection").click()
            drop = page.get_by_role("spinbutton", name="Temperature drop")
            expect(drop).to_have_value("1.5")
            page.keyboard.press("Escape")

            _open_options(house, page)
            page.get_by_text("Wi-Fi clients").click()
            _shot(house, page, "options-clients")
            expect(page.get_by_text("Presence trackers")).to_be_visible()
            page.get_by_role("button", name=SUBMIT).click()
            page.get_by_role("button", name=FINISH).click()
        finally:
            _shot(house, page, "options-last")
    presets = [
        w["body"].get("preset_temperatures", {}) for w in _writes(house, "thermostat")
    ]
    assert any(written.get("comfort") == 21.5 for written in presets)


async def _available(api: HomeAssistantApi, entity_id: str) -> bool:
    state = await api.state(entity_id)
    return state is not None and state["state"] != "unavailable"


def test_a_revoked_token_is_paired_again_from_the_card(house: House) -> None:
    """The Q.rad forgets Home Assistant: its card asks to pair again, and it works."""
    act(house, lambda api: _living_room_paired(house, api))
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
            _shot(house, page, "reauth-card")
            card.get_by_role(
                "button", name=re.compile("reconfigure", re.IGNORECASE)
            ).click()
            expect(page.get_by_text("Pair Living room again")).to_be_visible()
            page.get_by_role("button", name=SUBMIT).click()
            expect(page.get_by_text("Re-authentication was successful")).to_be_visible(
                timeout=30_000
            )
            _shot(house, page, "reauth-done")
        finally:
            _shot(house, page, "reauth-last")
    act(house, lambda api: eventually(lambda: _available(api, CLIMATE), 60))
