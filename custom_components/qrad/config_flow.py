"""Config flow for Q.rad: discovery or an address, then pairing by a button press."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import time
from typing import Any, override

from homeassistant.components import onboarding
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT, CONF_TOKEN
from homeassistant.core import callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
import probatio as vol

from .api import (
    DeviceInfo,
    QradAuthenticationError,
    QradConnectionError,
    QradDevice,
    QradError,
    QradPairingError,
    QradUnsupportedError,
    parse_txt,
)
from .const import (
    CLIENT_NAME,
    CONF_PRESET_TEMPERATURES,
    CONF_SERIAL,
    CONF_TOKEN_ID,
    DEFAULT_PORT,
    DOMAIN,
    LOGGER,
    PAIRING_POLL_S,
    PAIRING_TIMEOUT_S,
)

PRESETS = ("comfort", "eco", "away", "frost_protection")
DEFAULT_PRESET_TEMPERATURES = {
    "comfort": 20.0,
    "eco": 17.5,
    "away": 15.0,
    "frost_protection": 7.0,
}

DEVICE_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_HOST): str,
        vol.Required(CONF_PORT, default=DEFAULT_PORT): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=65535)
        ),
    }
)


class QradConfigFlow(ConfigFlow, domain=DOMAIN):
    """Pair a Q.rad, discovered or entered by hand."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing known about the Q.rad."""
        self._host = ""
        self._port = DEFAULT_PORT
        self._info: DeviceInfo | None = None
        self._token: str | None = None
        self._token_id: str | None = None
        self._pair_task: asyncio.Task[bool] | None = None

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> QradOptionsFlow:
        """Options of a Q.rad: its preset temperatures."""
        return QradOptionsFlow()

    # A Q.rad entered by hand or discovered.

    @override
    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a Q.rad's address (one that was not discovered)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._host = user_input[CONF_HOST].strip()
            self._port = user_input[CONF_PORT]
            error = await self._async_read_info()
            if error is None:
                await self.async_set_unique_id(self._serial, raise_on_progress=False)
                self._abort_if_unique_id_configured(
                    updates={CONF_HOST: self._host, CONF_PORT: self._port}
                )
                return await self.async_step_pair()
            errors["base"] = error
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                DEVICE_SCHEMA, user_input or {}
            ),
            errors=errors,
        )

    @override
    async def async_step_zeroconf(
        self, discovery_info: ZeroconfServiceInfo
    ) -> ConfigFlowResult:
        """Offer a Q.rad announced on the LAN; follow one that moved."""
        try:
            discovered = parse_txt(discovery_info.properties)
        except QradUnsupportedError:
            return self.async_abort(reason="unsupported_version")
        except QradError:
            return self.async_abort(reason="invalid_discovery_info")
        self._host = discovery_info.host
        self._port = discovery_info.port or DEFAULT_PORT
        await self.async_set_unique_id(discovered.serial)
        self._abort_if_unique_id_configured(
            updates={CONF_HOST: self._host, CONF_PORT: self._port}
        )
        if (error := await self._async_read_info()) is not None:
            return self.async_abort(reason=error)
        self.context["title_placeholders"] = {"name": self._name}
        return await self.async_step_zeroconf_confirm()

    async def async_step_zeroconf_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Let the user confirm the discovered Q.rad before pairing."""
        if user_input is None and onboarding.async_is_onboarded(self.hass):
            self._set_confirm_only()
            return self.async_show_form(
                step_id="zeroconf_confirm",
                description_placeholders=self._placeholders,
            )
        return await self.async_step_pair()

    # Pairing: the owner presses the button, the flow waits for the token.

    async def async_step_pair(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Wait for the button press; then go on to the cloud account."""
        if self._pair_task is None:
            self._pair_task = self.hass.async_create_task(
                self._async_wait_for_button(), eager_start=False
            )
        if not self._pair_task.done():
            return self.async_show_progress(
                step_id="pair",
                progress_action="press_button",
                description_placeholders=self._placeholders,
                progress_task=self._pair_task,
            )
        paired = self._pair_task.result()
        self._pair_task = None
        if not paired:
            return self.async_show_progress_done(next_step_id="pair_timeout")
        if self.source == SOURCE_REAUTH:
            return self.async_show_progress_done(next_step_id="reauth_done")
        return self.async_show_progress_done(next_step_id="paired")

    async def async_step_pair_timeout(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Say that no button press came in time; let the user try again."""
        if user_input is not None:
            return await self.async_step_pair()
        return self.async_show_form(
            step_id="pair_timeout",
            errors={"base": "pairing_timeout"},
            description_placeholders=self._placeholders,
        )

    async def _async_wait_for_button(self) -> bool:
        """Ask the Q.rad for a token until its pairing window opens or time runs out."""
        device = self._device()
        deadline = time.monotonic() + PAIRING_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                result = await device.pair(CLIENT_NAME)
            except QradPairingError:
                pass
            except QradError as err:
                LOGGER.debug("Pairing request to %s failed: %s", self._host, err)
            else:
                self._token = result.token
                self._token_id = result.token_id
                return True
            await asyncio.sleep(PAIRING_POLL_S)
        return False

    async def async_step_paired(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The Q.rad gave us a token: create its entry."""
        return self._async_create_device_entry()

    # Reauthentication: the Q.rad no longer accepts our token.

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Pair again with the Q.rad whose token was refused."""
        self._host = entry_data[CONF_HOST]
        self._port = entry_data[CONF_PORT]
        self._info = None
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Tell the user that the Q.rad forgot us and must be paired again."""
        if user_input is None:
            return self.async_show_form(
                step_id="reauth_confirm",
                description_placeholders={
                    CONF_NAME: self._get_reauth_entry().title,
                    CONF_HOST: self._host,
                },
            )
        return await self.async_step_pair()

    async def async_step_reauth_done(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Store the new token."""
        return self.async_update_reload_and_abort(
            self._get_reauth_entry(),
            data_updates={CONF_TOKEN: self._token, CONF_TOKEN_ID: self._token_id},
        )

    # Reconfiguration: a Q.rad's new address.

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change a Q.rad's address without pairing again."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            self._host = user_input[CONF_HOST].strip()
            self._port = user_input[CONF_PORT]
            if (error := await self._async_read_info()) is None:
                await self.async_set_unique_id(self._serial)
                self._abort_if_unique_id_mismatch(reason="different_device")
                return self.async_update_reload_and_abort(
                    entry,
                    data_updates={CONF_HOST: self._host, CONF_PORT: self._port},
                )
            errors["base"] = error
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                DEVICE_SCHEMA, user_input or entry.data
            ),
            errors=errors,
        )

    # Helpers.

    @property
    def _serial(self) -> str:
        assert self._info is not None
        return self._info.serial

    @property
    def _name(self) -> str:
        return self._info.name if self._info else self._host

    @property
    def _placeholders(self) -> dict[str, str]:
        model = self._info.model if self._info else ""
        return {CONF_NAME: self._name, "model": model, CONF_HOST: self._host}

    def _device(self) -> QradDevice:
        return QradDevice(
            self._host, self._port, session=async_get_clientsession(self.hass)
        )

    async def _async_read_info(self) -> str | None:
        """Read the Q.rad's public info; return an error key when that fails."""
        try:
            self._info = await self._device().info()
        except QradUnsupportedError:
            return "unsupported_version"
        except QradConnectionError:
            return "cannot_connect"
        except QradAuthenticationError:
            return "invalid_auth"
        except QradError:
            return "invalid_response"
        return None

    @callback
    def _async_create_device_entry(self) -> ConfigFlowResult:
        assert self._info is not None
        return self.async_create_entry(
            title=self._info.name,
            data={
                CONF_HOST: self._host,
                CONF_PORT: self._port,
                CONF_SERIAL: self._info.serial,
                CONF_TOKEN: self._token,
                CONF_TOKEN_ID: self._token_id,
            },
        )


class QradOptionsFlow(OptionsFlowWithReload):
    """Preset temperatures of a Q.rad."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the preset temperatures; the integration writes them to the Q.rad."""
        if user_input is not None:
            return self.async_create_entry(
                data={CONF_PRESET_TEMPERATURES: dict(user_input)}
            )
        current = self.config_entry.options.get(
            CONF_PRESET_TEMPERATURES, DEFAULT_PRESET_TEMPERATURES
        )
        selector = NumberSelector(
            NumberSelectorConfig(
                min=5,
                max=30,
                step=0.5,
                unit_of_measurement="°C",
                mode=NumberSelectorMode.BOX,
            )
        )
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(
                {
                    vol.Required(preset, default=current[preset]): selector
                    for preset in PRESETS
                }
            ),
        )
