"""Why the room is cold: a repair issue, in plain words, when it stays so.

A room more than COLD_BELOW_C below its target for COLD_ROOM_DELAY_S of Home
Assistant time (heating on, no window pause) raises a repair issue saying why,
from the heat source the cloud reports (or, without it, from what the Q.rad
itself does): heating on its own thermostat because the cloud is gone, capped
by the power limit, given no power, or at full power and still losing. It goes
away by itself once the room is within COLD_RECOVERED_C of its target again,
or when heating is switched off.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .api import ControlSource, HvacMode, QradState
from .api.cloud_models import ComputeStatus, HeatSource
from .const import CONF_SERIAL, LOGGER
from .issues import async_delete_issue, async_raise_issue, cold_room_issue_id

# How long a room may stay cold before the issue is raised (tests shorten it).
COLD_ROOM_DELAY_S = 30 * 60.0
COLD_BELOW_C = 1.0
COLD_RECOVERED_C = 0.5
FULL_POWER_W = 500.0
# Within this of its cap, the Q.rad draws all it may.
AT_CAP_W = 5.0


class ColdReason(StrEnum):
    """Why a room stays below its target (each a translation of the issue)."""

    LOCAL_FALLBACK = "local_fallback"
    POWER_LIMITED = "power_limited"
    NO_POWER = "no_power"
    FULL_POWER = "full_power"
    CATCHING_UP = "catching_up"


def cold_reason(state: QradState, compute: ComputeStatus | None) -> ColdReason:
    """The likeliest reason, from the cloud's heat source and the Q.rad's own state."""
    power = state.power
    capped = (
        power.power_limit_w < FULL_POWER_W
        and power.power_w >= power.power_limit_w - AT_CAP_W
    )
    source = compute.heat_source if compute is not None else None
    if source is HeatSource.POWER_LIMITED or capped:
        return ColdReason.POWER_LIMITED
    if source is HeatSource.LOCAL_FALLBACK or (
        state.thermostat.control is ControlSource.LOCAL and compute is not None
    ):
        return ColdReason.LOCAL_FALLBACK
    if source is HeatSource.OFF or power.power_w < AT_CAP_W:
        return ColdReason.NO_POWER
    if power.power_w >= FULL_POWER_W - AT_CAP_W:
        return ColdReason.FULL_POWER
    return ColdReason.CATCHING_UP


class ColdRoomWatch:
    """Raises and clears the cold-room issue of one Q.rad."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Nothing cold yet; the issue is raised for `entry`'s Q.rad."""
        self.hass = hass
        self._entry = entry
        self._timer: CALLBACK_TYPE | None = None
        self.reason: ColdReason | None = None
        # What the last observation saw, which a timeout raises the issue with.
        self._seen: tuple[QradState, ComputeStatus | None] | None = None

    @property
    def issue_id(self) -> str:
        """The issue of this Q.rad's cold room."""
        return cold_room_issue_id(self._entry.data[CONF_SERIAL])

    @callback
    def async_observe(
        self, state: QradState, status: ComputeStatus | None, *, paused: bool
    ) -> None:
        """Start, keep, update or end the watch on a new state or cloud status."""
        self._seen = (state, status)
        thermostat = state.thermostat
        temperature = state.sensors.temperature
        target = thermostat.target_temperature
        heating = thermostat.hvac_mode is not HvacMode.OFF and not paused
        if not heating or temperature >= target - COLD_RECOVERED_C:
            self._async_clear()
            return
        if temperature >= target - COLD_BELOW_C:
            return  # neither cold nor recovered: keep what runs
        if self.reason is not None:
            if cold_reason(state, status) is not self.reason:
                self._async_raise(state, status)
        elif self._timer is None:
            self._timer = async_call_later(
                self.hass, COLD_ROOM_DELAY_S, self._async_timed_out
            )

    @callback
    def async_stop(self) -> None:
        """The entry unloads: stop timing (an issue raised stays until recovery)."""
        if self._timer is not None:
            self._timer()
            self._timer = None

    @callback
    def _async_timed_out(self, _now: datetime) -> None:
        self._timer = None
        if self._seen is not None:
            self._async_raise(*self._seen)

    @callback
    def _async_raise(self, state: QradState, status: ComputeStatus | None) -> None:
        reason = cold_reason(state, status)
        if reason is not self.reason:
            LOGGER.info("%s stays cold: %s", self._entry.title, reason)
        self.reason = reason
        async_raise_issue(
            self.hass,
            self._entry.entry_id,
            self.issue_id,
            f"cold_room_{reason}",
            {
                "name": self._entry.title,
                "temperature": f"{state.sensors.temperature:.1f}",
                "target": f"{state.thermostat.target_temperature:.1f}",
                "minutes": f"{COLD_ROOM_DELAY_S / 60:g}",
                "power": f"{state.power.power_w:.0f}",
                "limit": f"{state.power.power_limit_w:.0f}",
            },
        )

    @callback
    def _async_clear(self) -> None:
        if self._timer is not None:
            self._timer()
            self._timer = None
        if self.reason is not None:
            self.reason = None
            async_delete_issue(self.hass, self.issue_id)
