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
# Which Wi-Fi clients get a presence tracker: none (the default), selected, all.
CONF_TRACK_CLIENTS: Final = "track_clients"
TRACK_NONE: Final = "none"
TRACK_SELECTED: Final = "selected"
TRACK_ALL: Final = "all"
TRACK_MODES: Final = (TRACK_NONE, TRACK_SELECTED, TRACK_ALL)
CONF_TRACKED_CLIENTS: Final = "tracked_clients"
# A tracker of a client unseen for this many days is removed.
CONF_STALE_DAYS: Final = "stale_days"
DEFAULT_STALE_DAYS: Final = 30
# Window-open detection: a drop of this many degrees within these minutes while
# heating pauses the heating for the pause minutes.
CONF_WINDOW_DROP: Final = "window_drop"
DEFAULT_WINDOW_DROP: Final = 1.0
CONF_WINDOW_MINUTES: Final = "window_minutes"
DEFAULT_WINDOW_MINUTES: Final = 5
CONF_WINDOW_PAUSE: Final = "window_pause_minutes"
DEFAULT_WINDOW_PAUSE: Final = 15
# An optional window or door contact whose opening pauses the heating too.
CONF_WINDOW_SENSOR: Final = "window_sensor"
# A schedule helper the Q.rad follows, the presets of its on and off periods;
# its coming changes go to the cloud as the Q.rad's plan (schedule_plan.py).
CONF_SCHEDULE: Final = "schedule"
CONF_SCHEDULE_ON: Final = "schedule_on_preset"
CONF_SCHEDULE_OFF: Final = "schedule_off_preset"
DEFAULT_SCHEDULE_ON: Final = "comfort"
DEFAULT_SCHEDULE_OFF: Final = "eco"

# Options of a cloud account entry: how long the cloud may be gone before a
# repair issue says so.
CONF_CLOUD_ISSUE_MINUTES: Final = "cloud_issue_minutes"
DEFAULT_CLOUD_ISSUE_MINUTES: Final = 10

# Polling only while the WebSocket push is down.
FALLBACK_SCAN_INTERVAL: Final = timedelta(seconds=30)
# How long the config flow waits for the owner to press the Q.rad's button.
PAIRING_TIMEOUT_S: Final = 90
PAIRING_POLL_S: Final = 1.5
# When a pairing that ended is announced again to a dialog that may have missed it.
REMINDER_DELAYS_S: Final = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)

# The two kinds of entries: a Q.rad, and a cloud account shared by its Q.rads.
CONF_KIND: Final = "kind"
KIND_DEVICE: Final = "device"
KIND_ACCOUNT: Final = "account"
CONF_ACCOUNT: Final = "account"
CONF_BROKER: Final = "broker"
CONF_CA_CERTIFICATE: Final = "ca_certificate"
ACCOUNT_UNIQUE_ID_PREFIX: Final = "account:"
# The cloud gone this long (unless the account's options say otherwise) raises
# a repair issue.
CLOUD_ISSUE_DELAY_S: Final = DEFAULT_CLOUD_ISSUE_MINUTES * 60.0
