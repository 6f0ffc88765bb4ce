"""One coordinator per Q.rad: its pushed state and its commands."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PORT, CONF_TOKEN
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .api import (
    HvacMode,
    Preset,
    QradAuthenticationError,
    QradDevice,
    QradError,
    QradState,
    QradUnsupportedError,
)
from .const import (
    CONF_PRESET_TEMPERATURES,
    CONF_SERIAL,
    DOMAIN,
    FALLBACK_SCAN_INTERVAL,
    LOGGER,
)

type QradConfigEntry = ConfigEntry[QradCoordinator]


@dataclass(frozen=True, kw_only=True)
class QradData:
    """What the entities show: the Q.rad's own state."""

    state: QradState


class QradCoordinator(DataUpdateCoordinator[QradData]):
    """Keeps a Q.rad's state current from its push; polls only while that is down."""

    config_entry: QradConfigEntry

    def __init__(self, hass: HomeAssistant, entry: QradConfigEntry) -> None:
        """Create the device client on Home Assistant's shared session."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=FALLBACK_SCAN_INTERVAL,
        )
        self.serial: str = entry.data[CONF_SERIAL]
        self.device = QradDevice(
            entry.data[CONF_HOST],
            entry.data[CONF_PORT],
            token=entry.data[CONF_TOKEN],
            session=async_get_clientsession(hass),
        )
        self.push_connected = False

    @override
    async def _async_update_data(self) -> QradData:
        """Read the whole state (first refresh, and while the push is down)."""
        try:
            state = await self.device.state()
        except QradAuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="token_rejected"
            ) from err
        except QradUnsupportedError as err:
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key="unsupported_version",
                translation_placeholders={"error": str(err)},
            ) from err
        except QradError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": str(err)},
            ) from err
        return QradData(state=state)

    async def async_apply_options(self) -> None:
        """Write the preset temperatures chosen in the options to the Q.rad."""
        wanted = self.config_entry.options.get(CONF_PRESET_TEMPERATURES)
        if not wanted:
            return
        presets = {Preset(name): float(value) for name, value in wanted.items()}
        if presets != self.data.state.thermostat.preset_temperatures:
            try:
                thermostat = await self.device.set_thermostat(
                    preset_temperatures=presets
                )
            except QradError as err:
                LOGGER.warning(
                    "Could not write preset temperatures to %s: %s", self.serial, err
                )
                return
            self.data = QradData(state=replace(self.data.state, thermostat=thermostat))

    # Push.

    @callback
    def async_start_push(self) -> None:
        """Listen to the Q.rad's WebSocket for as long as the entry is loaded."""
        self.config_entry.async_create_background_task(
            self.hass, self._async_listen(), f"{DOMAIN}_{self.serial}_push"
        )

    async def _async_listen(self) -> None:
        try:
            await self.device.listen(self._on_push_state, self._on_push_connection)
        except QradAuthenticationError:
            self.config_entry.async_start_reauth(self.hass)

    @callback
    def _on_push_state(self, state: QradState) -> None:
        self.async_set_updated_data(QradData(state=state))

    @callback
    def _on_push_connection(self, connected: bool) -> None:  # noqa: FBT001
        """Poll only while the push is down; look at once when it drops."""
        self.push_connected = connected
        if connected:
            self.update_interval = None
            return
        LOGGER.debug("Push from %s dropped; polling until it is back", self.serial)
        self.update_interval = FALLBACK_SCAN_INTERVAL
        self.config_entry.async_create_background_task(
            self.hass, self.async_request_refresh(), f"{DOMAIN}_{self.serial}_refresh"
        )

    # Commands.

    async def async_set_thermostat(
        self,
        *,
        target_temperature: float | None = None,
        hvac_mode: HvacMode | None = None,
        preset: Preset | None = None,
    ) -> None:
        """Change the Q.rad's setpoint and show the result at once."""
        thermostat = await self.device.set_thermostat(
            target_temperature=target_temperature, hvac_mode=hvac_mode, preset=preset
        )
        state = replace(self.data.state, thermostat=thermostat)
        self.async_set_updated_data(QradData(state=state))
