"""Config flow for Q.rad: discovery or an address, then pairing by a button press.

The first Q.rad of a cloud account also asks for that account (account_form);
the options of both kinds of entry are options_flow's.
"""

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
)
from homeassistant.const import (
    CONF_HOST,
    CONF_NAME,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_TOKEN,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
import probatio as vol

from .account import is_account_entry
from .account_form import (
    ACCOUNT_SCHEMA,
    PASSWORD_SCHEMA,
    account_entry_data,
    async_check_account,
)
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
    ACCOUNT_UNIQUE_ID_PREFIX,
    CLIENT_NAME,
    CONF_ACCOUNT,
    CONF_BROKER,
    CONF_KIND,
    CONF_SERIAL,
    CONF_TOKEN_ID,
    DEFAULT_PORT,
    DOMAIN,
    KIND_DEVICE,
    LOGGER,
    PAIRING_POLL_S,
    PAIRING_TIMEOUT_S,
    REMINDER_DELAYS_S,
)
from .options_flow import QradAccountOptionsFlow, QradOptionsFlow

SOURCE_ACCOUNT = "account"
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
        self._reminder: asyncio.Task[None] | None = None
        self._account: str | None = None
        self._broker = ""

    @staticmethod
    @callback
    @override
    def async_get_options_flow(
        config_entry: ConfigEntry,
    ) -> QradOptionsFlow | QradAccountOptionsFlow:
        """Options of a Q.rad, or of a cloud account."""
        if is_account_entry(config_entry):
            return QradAccountOptionsFlow()
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
            LOGGER.debug("Discovered Q.rad at %s not offered: %s", self._host, error)
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
        """Wait for the button press; then go on to the cloud account.

        A button pressed before (the window already open) needs no waiting at
        all: the first request gets the token, and no progress step is shown.
        """
        if self._pair_task is None:
            if await self._async_ask_for_token():
                return await self._async_step_after_pairing()
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
        self._reminder = self.hass.async_create_background_task(
            self._async_remind_the_frontend(), f"{DOMAIN} pairing done"
        )
        if not paired:
            return self.async_show_progress_done(next_step_id="pair_timeout")
        if self.source == SOURCE_REAUTH:
            return self.async_show_progress_done(next_step_id="reauth_done")
        return self.async_show_progress_done(next_step_id="paired")

    async def _async_step_after_pairing(self) -> ConfigFlowResult:
        if self.source == SOURCE_REAUTH:
            return await self.async_step_reauth_done()
        return await self.async_step_paired()

    async def _async_remind_the_frontend(self) -> None:
        """Say again that pairing is over, until the dialog has looked.

        Home Assistant says it once, when the wait ends. The dialog of Home
        Assistant 2026.10 listens only once it has drawn the progress step, and
        never looks by itself: a press within that moment was missed and the
        dialog spun for ever. 2026.11's dialog looks once it listens; this makes
        both move on, whenever the button is pressed.
        """
        for delay in REMINDER_DELAYS_S:
            await asyncio.sleep(delay)
            step = self.cur_step
            if step is None or step["type"] is not FlowResultType.SHOW_PROGRESS_DONE:
                return
            self.async_notify_flow_changed()

    @callback
    @override
    def async_remove(self) -> None:
        """The flow ends (done, aborted or closed): no more reminders.

        Home Assistant cancels the wait for the button itself (its progress task).
        """
        if self._reminder is not None:
            self._reminder.cancel()

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
        deadline = time.monotonic() + PAIRING_TIMEOUT_S
        while time.monotonic() < deadline:
            await asyncio.sleep(PAIRING_POLL_S)
            if await self._async_ask_for_token():
                return True
        return False

    async def _async_ask_for_token(self) -> bool:
        """One request for a token: whether the Q.rad's window was open."""
        try:
            result = await self._device().pair(CLIENT_NAME)
        except QradPairingError:
            return False
        except QradError as err:
            LOGGER.debug("Pairing request to %s failed: %s", self._host, err)
            return False
        self._token = result.token
        self._token_id = result.token_id
        return True

    async def async_step_paired(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The Q.rad gave us a token: find its cloud account, then create its entry."""
        try:
            state = await self._device(token=self._token).state()
        except QradError as err:
            LOGGER.warning("Could not read %s's cloud account: %s", self._host, err)
            return self._async_create_device_entry()
        self._account = state.cloud.account
        self._broker = state.cloud.broker or ""
        if self._account is None or self._account_entry(self._account) is not None:
            return self._async_create_device_entry()
        return await self.async_step_cloud_account()

    # The cloud account: asked once, with the first Q.rad of that account.

    async def async_step_cloud_account(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the account's secret; the Q.rad told us the account and broker."""
        assert self._account is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            if (error := await async_check_account(self._account, user_input)) is None:
                await self.hass.config_entries.flow.async_init(
                    DOMAIN,
                    context={"source": SOURCE_ACCOUNT},
                    data=account_entry_data(self._account, user_input),
                )
                return self._async_create_device_entry()
            errors["base"] = error
        return self.async_show_form(
            step_id="cloud_account",
            data_schema=self.add_suggested_values_to_schema(
                ACCOUNT_SCHEMA, user_input or {CONF_BROKER: self._broker}
            ),
            errors=errors,
            description_placeholders={**self._placeholders, "account": self._account},
        )

    async def async_step_account(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Create the entry of an account whose credentials were just checked."""
        await self.async_set_unique_id(ACCOUNT_UNIQUE_ID_PREFIX + data[CONF_ACCOUNT])
        self._abort_if_unique_id_configured(updates=data)
        return self.async_create_entry(
            title=f"Cloud account {data[CONF_ACCOUNT]}", data=data
        )

    def _account_entry(self, account: str) -> ConfigEntry | None:
        return self.hass.config_entries.async_entry_for_domain_unique_id(
            DOMAIN, ACCOUNT_UNIQUE_ID_PREFIX + account
        )

    # Reauthentication: the Q.rad no longer accepts our token.

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Pair again with the Q.rad whose token was refused, or log in again."""
        if is_account_entry(self._get_reauth_entry()):
            return await self.async_step_reauth_account()
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

    async def async_step_reauth_account(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The cloud refused the account's secret: ask for the current one."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            account = entry.data[CONF_ACCOUNT]
            candidate = {**entry.data, CONF_PASSWORD: user_input[CONF_PASSWORD]}
            if (error := await async_check_account(account, candidate)) is None:
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_PASSWORD: user_input[CONF_PASSWORD]}
                )
            errors["base"] = error
        return self.async_show_form(
            step_id="reauth_account",
            data_schema=PASSWORD_SCHEMA,
            errors=errors,
            description_placeholders={"account": entry.data[CONF_ACCOUNT]},
        )

    # Reconfiguration: a Q.rad's new address, or an account's broker and secret.

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change a Q.rad's address without pairing again."""
        entry = self._get_reconfigure_entry()
        if is_account_entry(entry):
            return await self.async_step_reconfigure_account()
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

    async def async_step_reconfigure_account(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the broker address, secret or certificate of a cloud account."""
        entry = self._get_reconfigure_entry()
        self._account = entry.data[CONF_ACCOUNT]
        errors: dict[str, str] = {}
        if user_input is not None:
            if (error := await async_check_account(self._account, user_input)) is None:
                return self.async_update_reload_and_abort(
                    entry, data_updates=account_entry_data(self._account, user_input)
                )
            errors["base"] = error
        return self.async_show_form(
            step_id="reconfigure_account",
            data_schema=self.add_suggested_values_to_schema(
                ACCOUNT_SCHEMA,
                user_input
                or {key: v for key, v in entry.data.items() if key != CONF_PASSWORD},
            ),
            errors=errors,
            description_placeholders={"account": self._account},
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

    def _device(self, token: str | None = None) -> QradDevice:
        return QradDevice(
            self._host,
            self._port,
            token=token,
            session=async_get_clientsession(self.hass),
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
                CONF_KIND: KIND_DEVICE,
                CONF_HOST: self._host,
                CONF_PORT: self._port,
                CONF_SERIAL: self._info.serial,
                CONF_TOKEN: self._token,
                CONF_TOKEN_ID: self._token_id,
                CONF_ACCOUNT: self._account,
            },
        )
