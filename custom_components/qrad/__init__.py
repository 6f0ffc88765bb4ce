"""The Q.rad integration: digital heaters that heat rooms with paid compute.

Two kinds of entries: one per Q.rad (its entities), and one per cloud account
(the MQTT link that carries the setpoints of all that account's Q.rads).
"""

from __future__ import annotations

import asyncio

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_VERIFY_SSL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType
from homeassistant.util.hass_dict import HassKey

from .account import QradAccountEntry, async_get_hub, is_account_entry
from .api import Preset, QradAuthenticationError
from .api.cloud import QradCloud
from .api.cloud_models import Origin, PlannedChange, PlanSource
from .const import (
    CONF_ACCOUNT,
    CONF_BROKER,
    CONF_CA_CERTIFICATE,
    CONF_CLOUD_ISSUE_MINUTES,
    CONF_SCHEDULE,
    CONF_SCHEDULE_OFF,
    CONF_SCHEDULE_ON,
    CONF_SERIAL,
    DEFAULT_SCHEDULE_OFF,
    DEFAULT_SCHEDULE_ON,
    DOMAIN,
)
from .coordinator import QradAnyEntry, QradConfigEntry, QradCoordinator
from .issues import async_delete_issue, cloud_issue_id, cold_room_issue_id
from .memory import async_remove_memory
from .schedule_plan import DayProgramFollower, ScheduleFollower
from .services import async_setup_services
from .urls import broker_address

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.CLIMATE,
    Platform.DEVICE_TRACKER,
    Platform.MEDIA_PLAYER,
    Platform.NUMBER,
    Platform.SENSOR,
    Platform.SWITCH,
]
# Held while one Q.rad's entities are added. A building's entries start
# together: adding their thousands of entities in the same turns of the loop
# held it for half a second and more (README, Performance); one Q.rad at a
# time, the loop runs between them.
DATA_ADDING_ENTITIES: HassKey[asyncio.Lock] = HassKey(f"{DOMAIN}_adding_entities")


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions, once for every Q.rad."""
    async_setup_services(hass)
    hass.data[DATA_ADDING_ENTITIES] = asyncio.Lock()
    return True


async def async_setup_entry(hass: HomeAssistant, entry: QradAnyEntry) -> bool:
    """Set up a Q.rad, or a cloud account."""
    if is_account_entry(entry):
        return await _async_setup_account(hass, entry)
    return await _async_setup_qrad(hass, entry)


async def _async_setup_qrad(hass: HomeAssistant, entry: QradConfigEntry) -> bool:
    """Read the Q.rad's state, then follow its push."""
    coordinator = QradCoordinator(hass, entry)
    await coordinator.memory.async_load()
    await coordinator.async_config_entry_first_refresh()
    await coordinator.async_apply_options()
    entry.runtime_data = coordinator
    await coordinator.async_start_watching()
    entry.async_on_unload(coordinator.writer.stop)
    async with hass.data[DATA_ADDING_ENTITIES]:
        await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    coordinator.async_start_push()
    if schedule := entry.options.get(CONF_SCHEDULE):
        _async_follow_schedule(hass, entry, coordinator, schedule)
    else:
        _async_follow_day_program(hass, entry, coordinator)
    return True


def _async_follow_schedule(
    hass: HomeAssistant,
    entry: QradConfigEntry,
    coordinator: QradCoordinator,
    schedule: str,
) -> None:
    """Keep the Q.rad on the schedule helper chosen in its options."""

    async def set_preset(preset: Preset) -> None:
        await coordinator.async_set_thermostat(preset=preset, origin=Origin.SCHEDULE)

    async def send_plan(changes: tuple[PlannedChange, ...]) -> None:
        await coordinator.async_send_plan(changes, PlanSource.SCHEDULE)

    follower = ScheduleFollower(
        hass,
        entry,
        schedule,
        presets={
            True: Preset(entry.options.get(CONF_SCHEDULE_ON, DEFAULT_SCHEDULE_ON)),
            False: Preset(entry.options.get(CONF_SCHEDULE_OFF, DEFAULT_SCHEDULE_OFF)),
        },
        preset_temperatures=lambda: (
            coordinator.data.state.thermostat.preset_temperatures
        ),
        set_preset=set_preset,
        send_plan=send_plan,
    )
    entry.async_on_unload(follower.async_start())
    entry.async_on_unload(
        coordinator.async_add_listener(follower.async_presets_changed)
    )


def _async_follow_day_program(
    hass: HomeAssistant, entry: QradConfigEntry, coordinator: QradCoordinator
) -> None:
    """Without a schedule helper: the Q.rad's own program, while in `auto`."""

    async def send_plan(changes: tuple[PlannedChange, ...]) -> None:
        await coordinator.async_send_plan(changes, PlanSource.DEVICE)

    follower = DayProgramFollower(
        hass,
        entry,
        mode=lambda: coordinator.data.state.thermostat.hvac_mode,
        preset_temperatures=lambda: (
            coordinator.data.state.thermostat.preset_temperatures
        ),
        send_plan=send_plan,
    )
    entry.async_on_unload(follower.async_start())
    entry.async_on_unload(
        coordinator.async_add_listener(follower.async_thermostat_changed)
    )
    follower.async_thermostat_changed()


async def _async_setup_account(hass: HomeAssistant, entry: QradAccountEntry) -> bool:
    """Open the account's cloud link; setpoints wait in its outbox until it is up."""
    hub = async_get_hub(hass, entry.data[CONF_ACCOUNT])
    minutes = entry.options.get(CONF_CLOUD_ISSUE_MINUTES)
    hub.issue_delay_s = float(minutes) * 60 if minutes is not None else None
    await hub.async_load()
    host, port, tls = broker_address(entry.data[CONF_BROKER])
    cloud = QradCloud(
        host,
        port,
        entry.data[CONF_ACCOUNT],
        entry.data[CONF_PASSWORD],
        outbox=hub.outbox,
        tls=tls,
        ca_data=entry.data.get(CONF_CA_CERTIFICATE) or None,
        verify_tls=entry.data.get(CONF_VERIFY_SSL, True),
    )
    try:
        await hub.async_attach(cloud, entry.entry_id)
    except QradAuthenticationError as err:
        await hub.async_detach()
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key="cloud_credentials_rejected",
            translation_placeholders={"account": entry.data[CONF_ACCOUNT]},
        ) from err
    entry.async_on_unload(hub.async_detach)
    entry.runtime_data = hub
    return True


async def async_unload_entry(hass: HomeAssistant, entry: QradAnyEntry) -> bool:
    """Unload a Q.rad's entities (its push task ends with the entry), or an account."""
    if is_account_entry(entry):
        return True
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: QradAnyEntry) -> None:
    """An entry is deleted: so are its issue and what a Q.rad remembered."""
    if is_account_entry(entry):
        async_delete_issue(hass, cloud_issue_id(entry.data[CONF_ACCOUNT]))
        return
    async_delete_issue(hass, cold_room_issue_id(entry.data[CONF_SERIAL]))
    await async_remove_memory(hass, entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: QradAnyEntry, device_entry: dr.AnyDeviceEntry
) -> bool:
    """Let the owner delete a Wi-Fi client's device once it has left.

    The Q.rad's own device goes with its entry, never alone; a client still
    connected would come straight back, so it stays until it leaves.
    """
    if is_account_entry(entry) or not isinstance(device_entry, dr.DeviceEntry):
        return False
    if (DOMAIN, entry.data[CONF_SERIAL]) in device_entry.identifiers:
        return False
    macs = {
        value
        for kind, value in device_entry.connections
        if kind == dr.CONNECTION_NETWORK_MAC
    }
    if entry.state is not ConfigEntryState.LOADED:
        return True
    coordinator = entry.runtime_data
    if any(client.mac in macs for client in coordinator.data.state.wifi.clients):
        return False
    for mac in macs:
        coordinator.memory.async_forget(mac)
    return True
