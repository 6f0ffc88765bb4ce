"""Open-window detection: a pause of the heating (and of its compute) while aired.

Two signs of an open window, each optional:

- the Q.rad's own temperature falls sharply while it heats: by the options'
  degrees (1.0 °C) within their minutes (5), measured in Home Assistant time;
  the heating then pauses for the options' pause (15 minutes);
- a window or door contact chosen in the options opens: the heating pauses
  until it closes.

A pause writes `hvac_mode: off` to the Q.rad (which still guards against frost
at 5 °C) and so, through its setpoint, stops the cloud's compute for it; at
the end the mode it had is written back. The owner's choice of mode is never
changed as Home Assistant shows it: the thermostat keeps showing the mode the
pause will restore, its `hvac_action` is `off`, and the window binary sensor
is on. A mode set during the pause becomes the one restored; a target or
preset set meanwhile is written at once. The "Window detection" switch turns
both signs off (and ends a running pause). A pause survives a restart of Home
Assistant: it is remembered with the mode to restore.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_ON
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers.event import (
    async_call_later,
    async_track_state_change_event,
)
from homeassistant.util import dt as dt_util

from .api import HvacAction, HvacMode, QradError, QradState
from .const import (
    CONF_SERIAL,
    CONF_WINDOW_DROP,
    CONF_WINDOW_MINUTES,
    CONF_WINDOW_PAUSE,
    CONF_WINDOW_SENSOR,
    DEFAULT_WINDOW_DROP,
    DEFAULT_WINDOW_MINUTES,
    DEFAULT_WINDOW_PAUSE,
    DOMAIN,
    LOGGER,
)
from .memory import QradMemory

CAUSE_TEMPERATURE = "temperature"
CAUSE_CONTACT = "contact"


@dataclass(kw_only=True)
class Pause:
    """A running pause: the mode to restore, and until when (None: the contact)."""

    hvac_mode: HvacMode
    until: datetime | None
    cause: str

    def to_dict(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "hvac_mode": str(self.hvac_mode),
            "until": self.until.isoformat() if self.until else None,
            "cause": self.cause,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pause | None:
        """A stored pause, or None if it cannot be read."""
        try:
            mode = HvacMode(data["hvac_mode"])
            until = dt_util.parse_datetime(data["until"]) if data["until"] else None
            cause = str(data["cause"])
        except KeyError, TypeError, ValueError:
            return None
        return cls(hvac_mode=mode, until=until, cause=cause)


class WindowGuard:
    """Watches one Q.rad's room for an open window and pauses its heating."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        memory: QradMemory,
        *,
        mode: Callable[[], HvacMode | None],
        writing: Callable[[], bool],
        write_mode: Callable[[HvacMode], Awaitable[None]],
        changed: Callable[[], None],
    ) -> None:
        """Enabled, nothing seen yet.

        `mode` reads the Q.rad's mode now, `writing` says whether a command of
        ours is under way, `write_mode` sets a mode on the Q.rad and `changed`
        tells the entities that what they show changed.
        """
        self.hass = hass
        self._entry = entry
        self._memory = memory
        self._mode = mode
        self._writing = writing
        self._write_mode = write_mode
        self._changed = changed
        self._enabled = True
        self.pause: Pause | None = None
        self._samples: deque[tuple[datetime, float]] = deque()
        self._timer: CALLBACK_TYPE | None = None
        self._unsubscribe: CALLBACK_TYPE | None = None
        self._acting = False

    # Options.

    @property
    def _options(self) -> dict[str, Any]:
        return dict(self._entry.options)

    @property
    def drop(self) -> float:
        """Degrees that must be lost within `window` to mean an open window."""
        return float(self._options.get(CONF_WINDOW_DROP, DEFAULT_WINDOW_DROP))

    @property
    def window(self) -> timedelta:
        """The time within which that drop must happen."""
        minutes = self._options.get(CONF_WINDOW_MINUTES, DEFAULT_WINDOW_MINUTES)
        return timedelta(minutes=float(minutes))

    @property
    def pause_time(self) -> timedelta:
        """How long a pause after a drop lasts."""
        minutes = self._options.get(CONF_WINDOW_PAUSE, DEFAULT_WINDOW_PAUSE)
        return timedelta(minutes=float(minutes))

    @property
    def contact(self) -> str | None:
        """The window or door contact of the room, if one was chosen."""
        entity_id = self._options.get(CONF_WINDOW_SENSOR)
        return str(entity_id) if entity_id else None

    # Life cycle.

    async def async_start(self) -> None:
        """Resume a remembered pause; follow the contact, if any."""
        stored = self._memory.window_pause
        pause = Pause.from_dict(stored) if stored else None
        if pause is not None:
            if self._mode() is not HvacMode.OFF:
                # Someone switched the Q.rad on meanwhile: the pause is over.
                await self._memory.async_set_window_pause(None)
            else:
                self.pause = pause
                self._schedule_end()
        if (contact := self.contact) is not None:
            self._unsubscribe = async_track_state_change_event(
                self.hass, [contact], self._async_contact_changed
            )
            state = self.hass.states.get(contact)
            if state is not None and state.state == STATE_ON:
                self._async_in_background(self.async_pause(CAUSE_CONTACT))
            elif pause is not None and pause.cause == CAUSE_CONTACT:
                self._async_in_background(self.async_restore())

    @callback
    def async_stop(self) -> None:
        """The entry unloads: keep the pause remembered, stop watching."""
        if self._timer is not None:
            self._timer()
            self._timer = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # What Home Assistant shows.

    @property
    def is_open(self) -> bool:
        """Whether an open window pauses the heating now."""
        return self.pause is not None

    def shown_mode(self, mode: HvacMode | None) -> HvacMode | None:
        """The mode the owner chose: during a pause, the one to restore."""
        return self.pause.hvac_mode if self.pause is not None else mode

    def attributes(self) -> dict[str, Any]:
        """Why and until when the heating pauses (for the binary sensor)."""
        if self.pause is None:
            return {}
        return {
            "cause": self.pause.cause,
            "paused_until": self.pause.until,
            "restores": str(self.pause.hvac_mode),
        }

    # Reactions.

    @callback
    def async_observe(self, state: QradState) -> None:
        """Look at a new state of the Q.rad: an outside switch-on, a sharp drop."""
        thermostat = state.thermostat
        if self.pause is not None:
            if (
                thermostat.hvac_mode is not HvacMode.OFF
                and not self._acting
                and not self._writing()
            ):
                # Switched on at the unit itself (or by another client).
                LOGGER.debug("%s switched on during a window pause", self._name)
                self._async_forget_pause()
            return
        now = dt_util.utcnow()
        temperature = state.sensors.temperature
        samples = self._samples
        while samples and now - samples[0][0] > self.window:
            samples.popleft()
        # A room steady for longer than the window keeps its present reading.
        if not samples or samples[-1][1] != temperature:
            samples.append((now, temperature))
        heating = thermostat.hvac_mode is not HvacMode.OFF and (
            thermostat.hvac_action is HvacAction.HEATING
            or temperature < thermostat.target_temperature
        )
        if not self._enabled or not heating or self._acting:
            return
        warmest = max(value for _, value in samples)
        if warmest - temperature >= self.drop - 1e-9:
            LOGGER.info(
                "%s: the room lost %.1f °C within %s while heating: open window",
                self._name,
                warmest - temperature,
                self.window,
            )
            self._async_in_background(self.async_pause(CAUSE_TEMPERATURE))

    @callback
    def _async_contact_changed(self, event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is None:
            return
        if new.state == STATE_ON:
            self._async_in_background(self.async_pause(CAUSE_CONTACT))
        elif self.pause is not None and self.pause.cause == CAUSE_CONTACT:
            self._async_in_background(self.async_restore())

    async def async_pause(self, cause: str) -> None:
        """Pause the heating: `off` on the Q.rad, the mode kept for later."""
        if not self._enabled:
            return
        if self.pause is not None:
            if cause == CAUSE_CONTACT and self.pause.cause != CAUSE_CONTACT:
                # The contact says more than the drop did: until it closes.
                self.pause.cause, self.pause.until = CAUSE_CONTACT, None
                self._schedule_end()
                await self._async_remember()
            return
        mode = self._mode()
        # A mode this client does not know could not be given back after the pause.
        if mode is None or mode is HvacMode.OFF or self._acting:
            return
        until = (
            dt_util.utcnow() + self.pause_time if cause == CAUSE_TEMPERATURE else None
        )
        self._acting = True
        try:
            self.pause = Pause(hvac_mode=mode, until=until, cause=cause)
            self._schedule_end()
            self._changed()
            await self._async_remember()
            await self._async_write(HvacMode.OFF)
        finally:
            self._acting = False

    async def async_restore(self) -> None:
        """End the pause: the mode it kept goes back to the Q.rad."""
        pause = self.pause
        if pause is None:
            return
        self._acting = True
        try:
            self._async_forget_pause()
            await self._memory.async_set_window_pause(None)
            await self._async_write(pause.hvac_mode)
        finally:
            self._acting = False

    @property
    def enabled(self) -> bool:
        """Whether the Window detection switch is on."""
        return self._enabled

    @callback
    def async_take_back(self, *, enabled: bool) -> None:
        """The switch's choice before a restart: only the choice, nothing undone."""
        self._enabled = enabled

    async def async_set_enabled(self, *, enabled: bool) -> None:
        """The Window detection switch: off ends a running pause."""
        self._enabled = enabled
        self._samples.clear()
        if not enabled:
            await self.async_restore()
        self._changed()

    async def async_keep_mode(self, mode: HvacMode) -> None:
        """The owner chose a mode during a pause: restore that one at its end."""
        if self.pause is not None:
            self.pause.hvac_mode = mode
            await self._async_remember()
            self._changed()

    # Helpers.

    @property
    def _name(self) -> str:
        return self._entry.title

    def _schedule_end(self) -> None:
        if self._timer is not None:
            self._timer()
            self._timer = None
        if self.pause is None or self.pause.until is None:
            return
        delay = (self.pause.until - dt_util.utcnow()).total_seconds()
        self._timer = async_call_later(self.hass, max(delay, 0.0), self._async_ended)

    @callback
    def _async_ended(self, _now: datetime) -> None:
        self._timer = None
        self._async_in_background(self.async_restore())

    @callback
    def _async_forget_pause(self) -> None:
        self.pause = None
        self._samples.clear()
        if self._timer is not None:
            self._timer()
            self._timer = None
        self._changed()

    async def _async_remember(self) -> None:
        await self._memory.async_set_window_pause(
            self.pause.to_dict() if self.pause else None
        )

    async def _async_write(self, mode: HvacMode) -> None:
        try:
            await self._write_mode(mode)
        except QradError as err:
            LOGGER.warning("%s: could not write %s: %s", self._name, mode, err)

    def _async_in_background(self, work: Any) -> None:
        self._entry.async_create_background_task(
            self.hass, work, f"{DOMAIN}_{self._entry.data[CONF_SERIAL]}_window"
        )
