"""What a newly paired Q.rad shows its owner, and what it leaves to enable.

A building of hundreds of Q.rads registers every entity of each, but only the
ones owners read are enabled (README, Entities); the rest wait in the entity
registry, one toggle away. Assist sees the thermostat, the speaker and the
room's air and window, not the settings and diagnostics.
"""

from __future__ import annotations

from homeassistant.components.homeassistant.exposed_entities import (
    async_should_expose,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qrad.entity import ASSIST

# By their keys (the unique id after the serial); cloud sensors come with an
# account, which this Q.rad has not, and trackers with chosen Wi-Fi clients.
ENABLED = {
    "thermostat",
    "speaker",
    "temperature",
    "humidity",
    "co2",
    "voc_index",
    "illuminance",
    "noise",
    "power",
    "energy",
    "compute_throughput",
    "wifi_clients",
    "window",
    "phone_charging",
    "wifi_access_point",
    "charger",
    "window_detection",
    "power_limit",
}
DISABLED = {
    "compute_work",
    "jobs_running",
    "wifi_signal",
    "wifi_ssid",
    "charger_power",
    "uptime",
    "heating",
    "cloud_connected",
    "phone_on_charger",
}
EXPOSED_TO_ASSIST = {
    "climate.living_room",
    "media_player.living_room_speaker",
    "sensor.living_room_temperature",
    "sensor.living_room_humidity",
    "sensor.living_room_carbon_dioxide",
    "binary_sensor.living_room_open_window",
}


def by_key(
    registry: er.EntityRegistry, entry: MockConfigEntry
) -> dict[str, er.RegistryEntry]:
    """The Q.rad's registry entries by the key their unique id ends with."""
    prefix = f"{entry.unique_id}_"
    return {
        registry_entry.unique_id.removeprefix(prefix): registry_entry
        for registry_entry in er.async_entries_for_config_entry(
            registry, entry.entry_id
        )
    }


async def test_owners_see_what_they_use(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Enabled entities have a state; the others are registered, disabled."""
    entries = by_key(entity_registry, init_integration)
    assert set(entries) == ENABLED | DISABLED
    for key, registry_entry in entries.items():
        shown = hass.states.get(registry_entry.entity_id)
        if key in ENABLED:
            assert registry_entry.disabled_by is None, key
            assert shown is not None, key
        else:
            assert registry_entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
            assert shown is None, key


async def test_a_disabled_entity_is_one_toggle_away(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Enabling the charger's power sensor gives it its reading."""
    charger_power = by_key(entity_registry, init_integration)["charger_power"]
    entity_registry.async_update_entity(charger_power.entity_id, disabled_by=None)
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    shown = hass.states.get(charger_power.entity_id)
    assert shown is not None
    assert float(shown.state) >= 0.0


async def test_assist_sees_the_room_not_the_diagnostics(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Home Assistant's default exposure takes the thermostat, speaker and air.

    Each entity's exposure is settled as it is added (not left to Home
    Assistant's pass at start, which a building's entities overflow): the
    registry holds it as soon as the Q.rad is set up.
    """
    assert await async_setup_component(hass, "homeassistant", {})
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    settled = {
        registry_entry.entity_id: registry_entry.options[ASSIST]["should_expose"]
        for registry_entry in by_key(entity_registry, mock_config_entry).values()
        if registry_entry.disabled_by is None
    }
    assert {entity_id for entity_id, exposed in settled.items() if exposed} == (
        EXPOSED_TO_ASSIST
    )
    for entity_id, exposed in settled.items():
        assert async_should_expose(hass, ASSIST, entity_id) is exposed
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
