"""The Q.rad's access point and induction charger: switches and what they show."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_HOME,
    STATE_NOT_HOME,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    EntityCategory,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.qrad.const import CONF_TRACK_CLIENTS, TRACK_ALL
from simulator.device.server import UnitServer

from .surroundings import emulate
from .waiting import wait_for

ACCESS_POINT = "switch.living_room_wi_fi_access_point"
CHARGER = "switch.living_room_induction_charger"
CLIENTS = "sensor.living_room_wi_fi_clients"
SSID = "sensor.living_room_wi_fi_network_name"
ON_CHARGER = "binary_sensor.living_room_phone_on_charger"
CHARGING = "binary_sensor.living_room_phone_charging"
CHARGER_POWER = "sensor.living_room_charger_power"
PHONE_MAC = "3c:22:fb:10:20:30"

# The SSID, phone-on-charger and charger-power entities are disabled by
# default; an owner who looks at them enables them, as these tests do.
pytestmark = pytest.mark.usefixtures("entity_registry_enabled_by_default")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots of states and registry entries, without their random ids."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """The Q.rad's entry tracks every Wi-Fi client."""
    return {CONF_TRACK_CLIENTS: TRACK_ALL}


async def switch(hass: HomeAssistant, service: str, entity_id: str) -> None:
    """Turn a switch on or off and wait for the Q.rad's answer."""
    await hass.services.async_call(
        SWITCH_DOMAIN, service, {ATTR_ENTITY_ID: entity_id}, blocking=True
    )


def state(hass: HomeAssistant, entity_id: str) -> str:
    """The state an entity shows."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


async def test_switch_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """The access point and charger switches, as Home Assistant shows them."""
    for entity_id in (ACCESS_POINT, CHARGER):
        assert entity_registry.async_get(entity_id) == snapshot(
            name=f"{entity_id}-entry"
        )
        assert hass.states.get(entity_id) == snapshot(name=f"{entity_id}-state")


async def test_switches_are_settings(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """Both switches are settings of the Q.rad; the SSID is a diagnostic."""
    registry = er.async_get(hass)
    for entity_id, category in (
        (ACCESS_POINT, EntityCategory.CONFIG),
        (CHARGER, EntityCategory.CONFIG),
        (SSID, EntityCategory.DIAGNOSTIC),
        (CHARGER_POWER, EntityCategory.DIAGNOSTIC),
        (CLIENTS, None),
    ):
        entry = registry.async_get(entity_id)
        assert entry is not None, entity_id
        assert entry.entity_category == category, entity_id
    assert state(hass, SSID) == qrad_unit.unit.wifi.ssid
    assert state(hass, ACCESS_POINT) == STATE_ON


async def test_access_point_off_disconnects_its_clients(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """Off: the clients leave (their trackers go not_home) until it is on again."""
    phone_app = MockConfigEntry(domain="mobile_app")
    phone_app.add_to_hass(hass)
    dr.async_get(hass).async_get_or_create(
        config_entry_id=phone_app.entry_id,
        connections={(dr.CONNECTION_NETWORK_MAC, PHONE_MAC)},
        name="Anna's phone",
    )
    qrad_unit.unit.client_join(PHONE_MAC, "annas-phone")
    await setup(hass, mock_config_entry)
    tracker = er.async_get(hass).async_get_entity_id(
        "device_tracker", "qrad", f"{qrad_unit.unit.identity.serial}_{PHONE_MAC}"
    )
    assert tracker is not None
    assert state(hass, tracker) == STATE_HOME
    assert state(hass, CLIENTS) == "1"

    await switch(hass, SERVICE_TURN_OFF, ACCESS_POINT)
    assert not qrad_unit.unit.wifi.enabled
    assert state(hass, ACCESS_POINT) == STATE_OFF
    assert state(hass, CLIENTS) == "0"
    assert state(hass, tracker) == STATE_NOT_HOME
    await emulate(qrad_unit, event="client_join", mac=PHONE_MAC)
    assert qrad_unit.unit.wifi.clients == []

    await switch(hass, SERVICE_TURN_ON, ACCESS_POINT)
    assert qrad_unit.unit.wifi.enabled
    assert state(hass, ACCESS_POINT) == STATE_ON
    await emulate(qrad_unit, event="client_join", mac=PHONE_MAC, name="annas-phone")
    await wait_for(hass, lambda: state(hass, tracker) == STATE_HOME)
    assert state(hass, CLIENTS) == "1"


async def setup(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Set the Q.rad's entry up and wait until its push is connected."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await wait_for(hass, lambda: entry.runtime_data.push_connected)


async def test_charger(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A phone on the charger charges, until the charger is switched off."""
    await wait_for(hass, lambda: init_integration.runtime_data.push_connected)
    await emulate(qrad_unit, event="phone_placed")
    await wait_for(hass, lambda: state(hass, CHARGING) == STATE_ON)
    assert state(hass, ON_CHARGER) == STATE_ON
    assert float(state(hass, CHARGER_POWER)) == 7.5

    await switch(hass, SERVICE_TURN_OFF, CHARGER)
    assert not qrad_unit.unit.charger.enabled
    assert state(hass, CHARGER) == STATE_OFF
    assert state(hass, CHARGING) == STATE_OFF
    assert float(state(hass, CHARGER_POWER)) == 0.0
    assert state(hass, ON_CHARGER) == STATE_ON

    await switch(hass, SERVICE_TURN_ON, CHARGER)
    assert state(hass, CHARGING) == STATE_ON
    await emulate(qrad_unit, event="phone_removed")
    await wait_for(hass, lambda: state(hass, ON_CHARGER) == STATE_OFF)
    assert state(hass, CHARGING) == STATE_OFF


async def test_unreachable_qrad_says_so(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A switch of a Q.rad that does not answer fails clearly and goes unavailable."""
    await qrad_unit.stop()
    with pytest.raises(HomeAssistantError) as failed:
        await switch(hass, SERVICE_TURN_OFF, CHARGER)
    assert failed.value.translation_key == "cannot_connect"
    assert str(failed.value).startswith("Could not reach the Q.rad")
    assert state(hass, CHARGER) == STATE_UNAVAILABLE
