"""Constants of the Q.rad integration."""

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "qrad"
LOGGER = logging.getLogger(__package__)

MANUFACTURER: Final = "Qarnot"
DEFAULT_PORT: Final = 8080
CLIENT_NAME: Final = "Home Assistant"

CONF_SERIAL: Final = "serial"
CONF_TOKEN_ID: Final = "token_id"  # noqa: S105 - a config key, not a secret

# Options of a Q.rad entry.
CONF_PRESET_TEMPERATURES: Final = "preset_temperatures"

# Polling only while the WebSocket push is down.
FALLBACK_SCAN_INTERVAL: Final = timedelta(seconds=30)
# How long the config flow waits for the owner to press the Q.rad's button.
PAIRING_TIMEOUT_S: Final = 90
PAIRING_POLL_S: Final = 1.5

# The two kinds of entries: a Q.rad, and a cloud account shared by its Q.rads.
CONF_KIND: Final = "kind"
KIND_DEVICE: Final = "device"
KIND_ACCOUNT: Final = "account"
CONF_ACCOUNT: Final = "account"
CONF_BROKER: Final = "broker"
CONF_CA_CERTIFICATE: Final = "ca_certificate"
ACCOUNT_UNIQUE_ID_PREFIX: Final = "account:"
# A setpoint waiting this long for an unreachable cloud raises a repair issue.
CLOUD_ISSUE_DELAY_S: Final = 60.0
