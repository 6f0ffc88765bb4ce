"""Real discovery on the emulated LAN: Home Assistant's own zeroconf finds the Q.rad.

No mock here: the emulated unit announces itself with python-zeroconf on the
Q.rads' end of the veth pair, and Home Assistant's zeroconf component browses
on its own end, as it would at home.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from homeassistant.const import CONF_HOST, EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import zeroconf

from custom_components.qrad.const import DOMAIN
from simulator.fleet import Fleet, FleetConfig, lan_pool

from .waiting import wait_for

pytestmark = pytest.mark.skipif(
    not lan_pool(), reason="needs the emulated LAN (run through scripts/test)"
)


@pytest.fixture
async def announced_fleet() -> AsyncIterator[Fleet]:
    """One Q.rad on a LAN address, announced over mDNS by its own responder.

    Home Assistant's zeroconf makes every later `Zeroconf()` of the process
    return its own instance; a Q.rad is another host, so the genuine class is
    put back when the test ends.
    """
    genuine = {
        name: vars(zeroconf.Zeroconf).get(name) for name in ("__new__", "__init__")
    }
    async with Fleet(FleetConfig(count=1, speed=60)) as fleet:
        yield fleet
    for name, method in genuine.items():
        setattr(zeroconf.Zeroconf, name, method or _plain_new)


def _plain_new(cls: type, *_args: object, **_kwargs: object) -> object:
    """object.__new__, minus the arguments that __init__ takes."""
    return object.__new__(cls)


async def start_zeroconf(hass: HomeAssistant) -> None:
    """Home Assistant's real zeroconf, browsing as after a start."""
    assert await async_setup_component(hass, "zeroconf", {})
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await hass.async_block_till_done()


def discovered(hass: HomeAssistant) -> list[dict]:
    """Flows of ours that discovery started."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["handler"] == DOMAIN and flow["context"]["source"] == "zeroconf"
    ]


async def test_announced_qrad_becomes_a_discovered_flow(
    hass: HomeAssistant, announced_fleet: Fleet
) -> None:
    """A Q.rad plugged in on the LAN shows up as 'discovered' with its name."""
    await start_zeroconf(hass)
    await wait_for(hass, lambda: bool(discovered(hass)))
    flow = discovered(hass)[0]
    unit = announced_fleet.units[0]
    assert flow["context"]["unique_id"] == unit.unit.identity.serial
    assert flow["context"]["title_placeholders"] == {"name": unit.unit.name}


async def test_moved_qrad_updates_its_entry(
    hass: HomeAssistant, announced_fleet: Fleet
) -> None:
    """A paired Q.rad that gets a new address is followed by its announcement."""
    unit = announced_fleet.units[0]
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=unit.unit.identity.serial,
        data={CONF_HOST: unit.host, "port": unit.port},
    )
    entry.add_to_hass(hass)
    await start_zeroconf(hass)
    new_host, new_port = announced_fleet.free_address()
    assert new_host != unit.host
    await unit.move(new_host, new_port)
    await wait_for(hass, lambda: entry.data[CONF_HOST] == new_host)
    assert not discovered(hass)
