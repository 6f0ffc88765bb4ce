"""The cloud account's form: its fields, the entry data, the login that checks it.

Asked with the first Q.rad of an account, and again on reauthentication or
reconfiguration: the config flow shows it, this module knows what it holds.
"""

from __future__ import annotations

from collections.abc import Mapping
import ssl
from typing import Any

from homeassistant.const import CONF_PASSWORD, CONF_VERIFY_SSL
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig
import probatio as vol

from .api import QradAuthenticationError, QradError
from .api.cloud import QradCloud
from .api.outbox import MemoryStore, Outbox
from .const import (
    CONF_ACCOUNT,
    CONF_BROKER,
    CONF_CA_CERTIFICATE,
    CONF_KIND,
    KIND_ACCOUNT,
)
from .form_selectors import PASSWORD
from .urls import broker_address

ACCOUNT_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_BROKER): str,
        vol.Required(CONF_PASSWORD): PASSWORD,
        vol.Optional(CONF_VERIFY_SSL, default=True): bool,
        vol.Optional(CONF_CA_CERTIFICATE, default=""): TextSelector(
            TextSelectorConfig(multiline=True)
        ),
    }
)
PASSWORD_SCHEMA = vol.Schema({vol.Required(CONF_PASSWORD): PASSWORD})


def account_entry_data(account: str, user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The entry data of `account` from the form's answers."""
    return {
        CONF_KIND: KIND_ACCOUNT,
        CONF_ACCOUNT: account,
        CONF_BROKER: user_input[CONF_BROKER].strip(),
        CONF_PASSWORD: user_input[CONF_PASSWORD],
        CONF_VERIFY_SSL: user_input.get(CONF_VERIFY_SSL, True),
        CONF_CA_CERTIFICATE: user_input.get(CONF_CA_CERTIFICATE, "").strip(),
    }


async def async_check_account(
    account: str, user_input: Mapping[str, Any]
) -> str | None:
    """Log in to the cloud broker once; return an error key when that fails."""
    try:
        host, port, tls = broker_address(user_input[CONF_BROKER])
    except ValueError:
        return "invalid_broker"
    cloud = QradCloud(
        host,
        port,
        account,
        user_input[CONF_PASSWORD],
        outbox=Outbox(MemoryStore()),
        tls=tls,
        ca_data=user_input.get(CONF_CA_CERTIFICATE, "").strip() or None,
        verify_tls=user_input.get(CONF_VERIFY_SSL, True),
    )
    try:
        await cloud.check_credentials()
    except QradAuthenticationError:
        return "invalid_cloud_auth"
    except QradError:
        return "cloud_cannot_connect"
    except ssl.SSLError:
        return "invalid_ca_certificate"
    return None
