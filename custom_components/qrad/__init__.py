"""The Q.rad integration: digital heaters that heat rooms with paid compute."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv

from .const import DOMAIN
from .coordinator import QradConfigEntry, QradCoordinator

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [Platform.BINARY_SENSOR, Platform.CLIMATE, Platform.SENSOR]


async def async_setup_entry(hass: HomeAssistant, entry: QradConfigEntry) -> bool:
    """Set up a Q.rad: read its state, then follow its push."""
    coordinator = QradCoordinator(hass, entry)
    await coordinator.async_config_entry_first_refresh()
    await coordinator.async_apply_options()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    coordinator.async_start_push()
    return True


async def async_unload_entry(hass: HomeAssistant, entry: QradConfigEntry) -> bool:
    """Unload a Q.rad's entities; its push task ends with the entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
