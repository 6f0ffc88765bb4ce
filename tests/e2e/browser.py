"""Debian's chromium, driven by Playwright (no downloaded browser), headless."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import shutil
import threading

from playwright.sync_api import Page, sync_playwright

from simulator.house import DEMO_PASSWORD, DEMO_USER

from .conftest import House

CHROMIUM = shutil.which("chromium", path="/usr/bin:/usr/lib/chromium")


@contextmanager
def logged_in(house: House, path: str) -> Iterator[Page]:
    """A page of Home Assistant at `path`, after the demo owner logged in."""
    assert CHROMIUM is not None
    before = set(threading.enumerate())
    with _executor_threads_joined(before), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{house.ha_url}{path}")
        page.get_by_role("textbox", name="Username").fill(DEMO_USER)
        page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"**{path}", timeout=60_000)
        try:
            yield page
        finally:
            browser.close()


@contextmanager
def _executor_threads_joined(before: set[threading.Thread]) -> Iterator[None]:
    """Wait, on leaving, for the executor threads Playwright's loop started.

    Its loop closes without waiting for them; one still alive when the test
    ends is taken for a leaked thread by the Home Assistant test plugin.
    """
    try:
        yield
    finally:
        for thread in set(threading.enumerate()) - before:
            if thread.name.startswith("asyncio_"):
                thread.join(timeout=10)
