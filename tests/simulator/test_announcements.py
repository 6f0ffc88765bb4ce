"""What the emulated Q.rad announces over mDNS (docs/protocol.md, section 2).

A python-zeroconf browser listens where Home Assistant would (its end of the
emulated LAN) and reads the records the fleet's responder sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import os

import aiohttp
import pytest
from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from simulator.device.server import UnitServer
from simulator.fleet import SERVICE_TYPE, Fleet, FleetConfig, lan_pool

pytestmark = pytest.mark.skipif(
    not lan_pool(), reason="needs the emulated LAN (run through scripts/test)"
)
# A cache replaces a unique record only by one received over a second after it
# (RFC 6762, 10.2): a change announced sooner than that would sit beside it.
AFTER_CACHE_FLUSH_S = 1.1


class Browser:
    """Browses `_qrad._tcp.local.` and records every change it is told of."""

    def __init__(self, zeroconf: AsyncZeroconf) -> None:
        """Browse with `zeroconf`."""
        self.zeroconf = zeroconf
        self.changes: list[tuple[str, ServiceStateChange]] = []
        self._browser = AsyncServiceBrowser(
            zeroconf.zeroconf, SERVICE_TYPE, handlers=[self._on_change]
        )

    def _on_change(
        self,
        zeroconf: Zeroconf,  # noqa: ARG002
        service_type: str,  # noqa: ARG002
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        self.changes.append((name, state_change))

    async def cancel(self) -> None:
        """Stop browsing."""
        await self._browser.async_cancel()

    async def info(self, name: str) -> AsyncServiceInfo:
        """The instance's records (from the cache, or asked for)."""
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        assert await info.async_request(self.zeroconf.zeroconf, 3000), name
        return info

    async def until(self, name: str, check: str, expected: object) -> None:
        """Wait until the instance's `check` (txt name, port, address) is `expected`."""
        async with asyncio.timeout(4):
            while _read(await self.info(name), check) != expected:
                await asyncio.sleep(0.05)


def _read(info: AsyncServiceInfo, what: str) -> object:
    if what == "txt name":
        return info.properties.get(b"name")
    if what == "address":
        return (info.parsed_addresses(), info.port)
    raise AssertionError(what)


@pytest.fixture
async def announced() -> AsyncIterator[tuple[Fleet, Browser]]:
    """One announced Q.rad and a browser on Home Assistant's end of the LAN."""
    zeroconf = AsyncZeroconf(
        interfaces=[os.environ["QRAD_LAN_HA_IP"]], ip_version=IPVersion.V4Only
    )
    browser = Browser(zeroconf)
    try:
        async with Fleet(FleetConfig(count=1, speed=0, auto_pair=True)) as fleet:
            yield fleet, browser
    finally:
        await browser.cancel()
        await zeroconf.async_close()


def instance_of(unit: UnitServer) -> str:
    """The instance name the unit started announcing under."""
    return f"{unit.unit.identity.name}.{SERVICE_TYPE}"


async def paired_token(session: aiohttp.ClientSession, unit: UnitServer) -> str:
    """A token (the fleet keeps its pairing window open)."""
    async with session.post(f"{unit.url}/pairing", json={"client_name": "t"}) as answer:
        token: str = (await answer.json())["token"]
        return token


async def test_the_announcement_holds_every_txt_key(
    announced: tuple[Fleet, Browser],
) -> None:
    """The instance, host name, port, address and TXT keys of section 2."""
    fleet, browser = announced
    unit = fleet.units[0]
    identity = unit.unit.identity
    info = await browser.info(instance_of(unit))
    assert info.server == f"qrad-{identity.serial.lower()}.local."
    assert (info.parsed_addresses(), info.port) == ([unit.host], unit.port)
    assert info.properties == {
        b"serial": identity.serial.encode(),
        b"model": identity.model.encode(),
        b"fw": identity.firmware.encode(),
        b"api": b"1",
        b"mac": identity.mac.encode(),
        b"name": unit.unit.name.encode(),
        b"path": b"/api/v1",
    }


async def test_a_shutdown_says_goodbye(announced: tuple[Fleet, Browser]) -> None:
    """A unit stopping cleanly withdraws its service (TTL 0): browsers drop it."""
    fleet, browser = announced
    instance = instance_of(fleet.units[0])
    await browser.info(instance)
    await fleet.stop()
    async with asyncio.timeout(4):
        while (instance, ServiceStateChange.Removed) not in browser.changes:
            await asyncio.sleep(0.05)


async def test_a_rename_keeps_the_instance_and_updates_the_txt_name(
    announced: tuple[Fleet, Browser],
) -> None:
    """Renamed, the unit re-announces the same instance with its new TXT `name`."""
    fleet, browser = announced
    unit = fleet.units[0]
    instance = instance_of(unit)
    await browser.until(instance, "txt name", unit.unit.name.encode())
    await asyncio.sleep(AFTER_CACHE_FLUSH_S)
    async with aiohttp.ClientSession() as session:
        token = await paired_token(session, unit)
        async with session.patch(
            f"{unit.url}/device",
            json={"name": "Attic"},
            headers={"Authorization": f"Bearer {token}"},
        ) as answer:
            assert answer.status == 200
    await browser.until(instance, "txt name", b"Attic")
    info = await browser.info(instance)
    assert info.properties[b"serial"] == unit.unit.identity.serial.encode()
    assert {name for name, _ in browser.changes} == {instance}
    assert (instance, ServiceStateChange.Removed) not in browser.changes


async def test_a_move_without_an_address_is_re_announced(
    announced: tuple[Fleet, Browser],
) -> None:
    """`move` alone takes a free address of the LAN, announced for the same instance."""
    fleet, browser = announced
    unit = fleet.units[0]
    instance = instance_of(unit)
    old = (unit.host, unit.port)
    await browser.until(instance, "address", ([unit.host], unit.port))
    await asyncio.sleep(AFTER_CACHE_FLUSH_S)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://{unit.host}:{unit.port}/_emulator/faults", json={"fault": "move"}
        ) as answer,
    ):
        assert await answer.json() == {"ok": True}
    async with asyncio.timeout(4):
        while (unit.host, unit.port) == old:
            await asyncio.sleep(0.01)
    assert unit.host in lan_pool()
    await browser.until(instance, "address", ([unit.host], unit.port))
    assert (instance, ServiceStateChange.Removed) not in browser.changes
