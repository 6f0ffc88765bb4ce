"""Clients of the Q.rad's access point as presence trackers, as routers give them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.components.device_tracker import (
    ATTR_HOST_NAME,
    ATTR_IP,
    ATTR_MAC,
    ATTR_SOURCE_TYPE,
    DOMAIN as TRACKER_DOMAIN,
    SourceType,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_FRIENDLY_NAME, STATE_HOME, STATE_NOT_HOME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.qrad.const import (
    CONF_STALE_DAYS,
    CONF_TRACK_CLIENTS,
    CONF_TRACKED_CLIENTS,
    DOMAIN,
    TRACK_ALL,
    TRACK_NONE,
    TRACK_SELECTED,
)
from simulator.device.server import UnitServer

from .surroundings import emulate
from .waiting import wait_for

PHONE_MAC = "3c:22:fb:10:20:30"
LAPTOP_MAC = "3c:22:fb:40:50:60"


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """The Q.rad's entry tracks every Wi-Fi client."""
    return {CONF_TRACK_CLIENTS: TRACK_ALL}


def known_to_another_integration(hass: HomeAssistant, mac: str) -> None:
    """A device with this MAC that another integration (the phone's app) knows."""
    phone_app = MockConfigEntry(domain="mobile_app")
    phone_app.add_to_hass(hass)
    dr.async_get(hass).async_get_or_create(
        config_entry_id=phone_app.entry_id,
        connections={(dr.CONNECTION_NETWORK_MAC, mac)},
        name="Anna's phone",
    )


def tracker_of(hass: HomeAssistant, unit: UnitServer, mac: str) -> str | None:
    """The entity id of the tracker of client `mac` on `unit`, if it has one."""
    return er.async_get(hass).async_get_entity_id(
        TRACKER_DOMAIN, DOMAIN, f"{unit.unit.identity.serial}_{mac}"
    )


async def setup(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Set the Q.rad's entry up and wait until its push is connected."""
    if hass.config_entries.async_get_entry(entry.entry_id) is None:
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await wait_for(hass, lambda: entry.runtime_data.push_connected)


def state(hass: HomeAssistant, entity_id: str) -> str:
    """The state an entity shows."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


async def test_known_client_is_home_then_not_home(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A client that joins gets a tracker: home while connected, not_home after."""
    known_to_another_integration(hass, PHONE_MAC)
    await setup(hass, mock_config_entry)
    assert tracker_of(hass, qrad_unit, PHONE_MAC) is None

    await emulate(qrad_unit, event="client_join", mac=PHONE_MAC, name="annas-phone")
    await wait_for(hass, lambda: tracker_of(hass, qrad_unit, PHONE_MAC) is not None)
    tracker = tracker_of(hass, qrad_unit, PHONE_MAC)
    assert tracker is not None
    await wait_for(hass, lambda: hass.states.get(tracker) is not None)
    attributes = hass.states.get(tracker).attributes
    assert state(hass, tracker) == STATE_HOME
    assert attributes[ATTR_SOURCE_TYPE] == SourceType.ROUTER
    assert attributes[ATTR_MAC] == PHONE_MAC
    assert attributes[ATTR_FRIENDLY_NAME] == "annas-phone"
    assert attributes[ATTR_HOST_NAME] == "annas-phone"
    assert attributes[ATTR_IP].startswith("192.168.50.")

    await emulate(qrad_unit, event="client_leave", mac=PHONE_MAC)
    await wait_for(hass, lambda: state(hass, tracker) == STATE_NOT_HOME)
    assert ATTR_IP not in hass.states.get(tracker).attributes


async def test_unknown_client_tracker_starts_enabled(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A MAC nobody else knows still gets a live tracker: the owner asked for it."""
    await wait_for(hass, lambda: init_integration.runtime_data.push_connected)
    await emulate(qrad_unit, event="client_join", mac=LAPTOP_MAC, name="laptop")
    await wait_for(hass, lambda: tracker_of(hass, qrad_unit, LAPTOP_MAC) is not None)
    tracker = tracker_of(hass, qrad_unit, LAPTOP_MAC)
    entry = er.async_get(hass).async_get(tracker)
    assert entry is not None
    assert entry.disabled_by is None
    await wait_for(hass, lambda: hass.states.get(tracker) is not None)
    assert hass.states.get(tracker).state == "home"
    assert hass.states.get(tracker).attributes["friendly_name"] == "laptop"
    device = dr.async_get(hass).async_get(entry.device_id)
    assert device is not None
    assert device.name == "laptop"
    assert (dr.CONNECTION_NETWORK_MAC, LAPTOP_MAC) in device.connections


async def test_tracker_survives_a_restart(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A client seen before keeps its tracker (and name) across restarts, away."""
    known_to_another_integration(hass, PHONE_MAC)
    qrad_unit.unit.client_join(PHONE_MAC, "annas-phone")
    await setup(hass, mock_config_entry)
    tracker = tracker_of(hass, qrad_unit, PHONE_MAC)
    assert tracker is not None
    assert state(hass, tracker) == STATE_HOME

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    qrad_unit.unit.client_leave(PHONE_MAC)
    await setup(hass, mock_config_entry)

    assert tracker_of(hass, qrad_unit, PHONE_MAC) == tracker
    assert state(hass, tracker) == STATE_NOT_HOME
    assert hass.states.get(tracker).attributes[ATTR_FRIENDLY_NAME] == "annas-phone"
    # Back home: the same tracker, not a second one.
    await emulate(qrad_unit, event="client_join", mac=PHONE_MAC, name="annas-phone")
    await wait_for(hass, lambda: state(hass, tracker) == STATE_HOME)
    trackers = [
        entry
        for entry in er.async_entries_for_config_entry(
            er.async_get(hass), mock_config_entry.entry_id
        )
        if entry.domain == TRACKER_DOMAIN
    ]
    assert len(trackers) == 1


async def remove_device(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, device_id: str
) -> dict[str, Any]:
    """Ask to delete a device, as the device page's Delete button does."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "config/device_registry/remove", "device_id": device_id}
    )
    answer: dict[str, Any] = await client.receive_json()
    return answer


async def test_delete_a_client_device_once_it_left(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    qrad_unit: UnitServer,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A client's device can go once it left; the Q.rad's own device cannot."""
    assert await async_setup_component(hass, "config", {})
    known_to_another_integration(hass, PHONE_MAC)
    qrad_unit.unit.client_join(PHONE_MAC, "annas-phone")
    await setup(hass, mock_config_entry)
    devices = dr.async_get(hass)
    tracker = tracker_of(hass, qrad_unit, PHONE_MAC)
    assert tracker is not None
    phone = er.async_get(hass).async_get(tracker)
    assert phone is not None
    assert phone.device_id is not None
    device = devices.async_get(phone.device_id)
    assert device is not None
    assert device.config_entry_id == mock_config_entry.entry_id

    refused = await remove_device(hass, hass_ws_client, phone.device_id)
    assert not refused["success"]
    qrad = devices.async_get_device_by_identifier(
        (DOMAIN, qrad_unit.unit.identity.serial), mock_config_entry.entry_id
    )
    assert qrad is not None
    refused = await remove_device(hass, hass_ws_client, qrad.id)
    assert not refused["success"]

    await emulate(qrad_unit, event="client_leave", mac=PHONE_MAC)
    await wait_for(hass, lambda: state(hass, tracker) == STATE_NOT_HOME)
    removed = await remove_device(hass, hass_ws_client, phone.device_id)
    assert removed["success"], removed
    await hass.async_block_till_done()
    assert devices.async_get(phone.device_id) is None
    assert tracker_of(hass, qrad_unit, PHONE_MAC) is None
    assert hass.states.get(tracker) is None
    assert devices.async_get(qrad.id) is not None

    # The phone comes back: it is tracked again.
    await emulate(qrad_unit, event="client_join", mac=PHONE_MAC, name="annas-phone")
    await wait_for(hass, lambda: tracker_of(hass, qrad_unit, PHONE_MAC) is not None)


async def test_delete_a_client_device_while_the_qrad_is_unloaded(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    qrad_unit: UnitServer,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """With its Q.rad unloaded, a client's device can go; the Q.rad's still cannot."""
    assert await async_setup_component(hass, "config", {})
    known_to_another_integration(hass, PHONE_MAC)
    qrad_unit.unit.client_join(PHONE_MAC, "annas-phone")
    await setup(hass, mock_config_entry)
    tracker = tracker_of(hass, qrad_unit, PHONE_MAC)
    assert tracker is not None
    phone = er.async_get(hass).async_get(tracker)
    assert phone is not None
    assert phone.device_id is not None
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    qrad = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, qrad_unit.unit.identity.serial), mock_config_entry.entry_id
    )
    assert qrad is not None
    assert not (await remove_device(hass, hass_ws_client, qrad.id))["success"]
    removed = await remove_device(hass, hass_ws_client, phone.device_id)
    assert removed["success"], removed
    assert tracker_of(hass, qrad_unit, PHONE_MAC) is None


def with_options(entry: MockConfigEntry, **options: Any) -> MockConfigEntry:
    """The same Q.rad entry with other options."""
    return MockConfigEntry(
        domain=entry.domain,
        title=entry.title,
        unique_id=entry.unique_id,
        data=dict(entry.data),
        options=options,
    )


def trackers(hass: HomeAssistant, entry: ConfigEntry) -> set[str]:
    """The unique ids of the entry's trackers."""
    return {
        entity.unique_id
        for entity in er.async_entries_for_config_entry(
            er.async_get(hass), entry.entry_id
        )
        if entity.domain == TRACKER_DOMAIN
    }


async def test_no_client_is_tracked_by_default(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """Without options no client gets a tracker; a sensor counts them all."""
    entry = with_options(mock_config_entry)
    known_to_another_integration(hass, PHONE_MAC)
    qrad_unit.unit.client_join(PHONE_MAC, "annas-phone")
    await setup(hass, entry)
    await emulate(qrad_unit, event="client_join", mac=LAPTOP_MAC, name="laptop")
    clients = "sensor.living_room_wi_fi_clients"
    await wait_for(hass, lambda: state(hass, clients) == "2")
    assert trackers(hass, entry) == set()
    assert not hass.states.async_entity_ids(TRACKER_DOMAIN)


async def test_options_choose_the_tracked_clients(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """The options list the known clients; only the selected ones are tracked."""
    entry = with_options(mock_config_entry)
    qrad_unit.unit.client_join(PHONE_MAC, "annas-phone")
    qrad_unit.unit.client_join(LAPTOP_MAC, "laptop")
    await setup(hass, entry)
    serial = qrad_unit.unit.identity.serial

    async def choose(**answer: Any) -> dict[str, Any]:
        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "clients"}
        )
        assert result["step_id"] == "clients"
        offered = result["data_schema"].schema[CONF_TRACKED_CLIENTS].config["options"]
        assert {"value": PHONE_MAC, "label": f"annas-phone ({PHONE_MAC})"} in offered
        assert {"value": LAPTOP_MAC, "label": f"laptop ({LAPTOP_MAC})"} in offered
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_STALE_DAYS: 30, **answer}
        )
        await hass.async_block_till_done()
        return result

    refused = await choose(track_clients=TRACK_SELECTED, tracked_clients=[])
    assert refused["errors"] == {CONF_TRACKED_CLIENTS: "no_client_selected"}
    hass.config_entries.options.async_abort(refused["flow_id"])

    done = await choose(track_clients=TRACK_SELECTED, tracked_clients=[PHONE_MAC])
    assert done["type"] is FlowResultType.CREATE_ENTRY
    await wait_for(hass, lambda: entry.runtime_data.push_connected)
    assert trackers(hass, entry) == {f"{serial}_{PHONE_MAC}"}

    await choose(track_clients=TRACK_ALL, tracked_clients=[])
    await wait_for(hass, lambda: entry.runtime_data.push_connected)
    assert trackers(hass, entry) == {f"{serial}_{PHONE_MAC}", f"{serial}_{LAPTOP_MAC}"}

    # Back to none: the trackers go from the registry, not only from the states.
    await choose(track_clients=TRACK_NONE, tracked_clients=[])
    assert trackers(hass, entry) == set()


async def test_stale_trackers_are_removed_while_running(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """The hourly check removes trackers of clients unseen for the options' days."""
    entry = with_options(mock_config_entry, track_clients=TRACK_ALL, stale_days=30)
    known_to_another_integration(hass, PHONE_MAC)
    qrad_unit.unit.client_join(PHONE_MAC, "annas-phone")
    qrad_unit.unit.client_join(LAPTOP_MAC, "laptop")
    await setup(hass, entry)
    serial = qrad_unit.unit.identity.serial
    phone = tracker_of(hass, qrad_unit, PHONE_MAC)
    assert phone is not None
    phone_device = er.async_get(hass).async_get(phone).device_id
    assert phone_device is not None
    await emulate(qrad_unit, event="client_leave", mac=PHONE_MAC)
    await wait_for(hass, lambda: state(hass, phone) == STATE_NOT_HOME)

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(days=29))
    await hass.async_block_till_done()
    assert trackers(hass, entry) == {f"{serial}_{PHONE_MAC}", f"{serial}_{LAPTOP_MAC}"}

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(days=31))
    await hass.async_block_till_done()
    assert trackers(hass, entry) == {f"{serial}_{LAPTOP_MAC}"}
    assert hass.states.get(phone) is None
    # The device the tracker made for the phone went with it; the Q.rad's stays.
    assert dr.async_get(hass).async_get(phone_device) is None
    assert (
        dr.async_get(hass).async_get_device_by_identifier(
            (DOMAIN, serial), entry.entry_id
        )
        is not None
    )

    # A stale client that comes back is tracked again.
    await emulate(qrad_unit, event="client_join", mac=PHONE_MAC, name="annas-phone")
    await wait_for(hass, lambda: tracker_of(hass, qrad_unit, PHONE_MAC) is not None)
