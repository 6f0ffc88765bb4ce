"""The plan ahead of a Q.rad: from a schedule helper, or from its own day program.

The owner picks a `schedule` entity in the Q.rad's options and the presets its
periods mean (comfort while on, eco or away while off). The Q.rad then takes
the preset whenever the schedule turns on or off, and the cloud is sent the
coming changes as a plan (docs/protocol.md 6.11), so that it heats ahead of
them. The plan is made again when the schedule or the preset temperatures
change, and twice a day so it never expires; one that would say the same as
the last one sent is not sent again.

Without a schedule helper, a Q.rad in `auto` mode follows its own day program
(3.2: comfort from 06:00 to 22:00 local time, eco otherwise): the cloud is sent
that program as a plan in the same way, withdrawn when the mode changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import date, datetime, time, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.util import dt as dt_util

from .api import HvacMode, Preset
from .api.cloud import PLAN_VALIDITY
from .api.cloud_models import MAX_PLAN_CHANGES, PlannedChange
from .const import DOMAIN, LOGGER

# How far ahead a plan looks: a minute short of its validity, which the outbox
# counts from the whole second it is made in, so the last change is within it.
HORIZON = PLAN_VALIDITY - timedelta(minutes=1)
# How often it is made again at the latest.
REFRESH = timedelta(hours=12)
WEEKDAYS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
# The Q.rad's own day program in `auto` (docs/protocol.md 3.2), as a week of
# schedule.get_schedule's shape: comfort while on, eco while off.
DAY_PROGRAM: dict[str, Any] = {
    day: [{"from": "06:00:00", "to": "22:00:00"}] for day in WEEKDAYS
}


def plan_from_schedule(
    week: dict[str, Any],
    targets: dict[bool, tuple[float, Preset]],
    now: datetime,
    horizon: timedelta = HORIZON,
) -> tuple[PlannedChange, ...]:
    """The changes of `week` (schedule.get_schedule's answer) from `now` on.

    `targets` maps on and off to a target and its preset. Moments are read in
    Home Assistant's time zone; a period that ends when the next begins makes
    no change in between; a change to the target already in force is none.
    """
    local_now = dt_util.as_local(now)
    marks: dict[datetime, bool] = {}
    for offset in range(-1, horizon.days + 2):
        day = local_now.date() + timedelta(days=offset)
        for period in week.get(WEEKDAYS[day.weekday()], []):
            start = _at(day, period["from"])
            end = _at(day, period["to"])
            marks.setdefault(end, False)
            # A period that begins when another ends: on wins.
            marks[start] = True
    state = _on_at(marks, local_now)
    changes: list[PlannedChange] = []
    for moment in sorted(marks):
        if not local_now < moment <= local_now + horizon:
            continue
        on = marks[moment]
        if on == state:
            continue
        state = on
        target, preset = targets[on]
        changes.append(PlannedChange(dt_util.as_utc(moment), target, preset))
    return tuple(changes[:MAX_PLAN_CHANGES])


@callback
def _async_send_later(
    hass: HomeAssistant, entry: ConfigEntry, sending: Coroutine[Any, Any, None]
) -> None:
    """Send in the background of the Q.rad's entry: its unload cancels it."""
    entry.async_create_background_task(hass, sending, f"{DOMAIN}_plan")


def _at(day: date, moment: object) -> datetime:
    """A schedule's time on `day`, in Home Assistant's zone; 24:00 is the next day."""
    text = str(moment)
    if text.startswith("24:"):
        return _at(day + timedelta(days=1), "00:00:00")
    clock = moment if isinstance(moment, time) else time.fromisoformat(text)
    return datetime.combine(day, clock, tzinfo=dt_util.get_default_time_zone())


def _on_at(marks: dict[datetime, bool], moment: datetime) -> bool:
    """Whether the schedule is on at `moment`, from the last mark before it."""
    before = [when for when in marks if when <= moment]
    return marks[max(before)] if before else False


class ScheduleFollower:
    """Keeps one Q.rad on its schedule helper, and the cloud told of what comes."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        schedule: str,
        *,
        presets: dict[bool, Preset],
        preset_temperatures: Callable[[], dict[Preset, float]],
        set_preset: Callable[[Preset], Awaitable[None]],
        send_plan: Callable[[tuple[PlannedChange, ...]], Awaitable[object]],
    ) -> None:
        """Follow `schedule` (an entity id) with `presets` for on and off."""
        self.hass = hass
        self._entry = entry
        self.schedule = schedule
        self.presets = presets
        self._preset_temperatures = preset_temperatures
        self._set_preset = set_preset
        self._send_plan = send_plan
        self._sent: tuple[PlannedChange, ...] | None = None
        self._temperatures: dict[Preset, float] | None = None

    @callback
    def async_start(self) -> Callable[[], None]:
        """Listen to the schedule and the clock; what stops it all."""
        stops = [
            async_track_state_change_event(
                self.hass, [self.schedule], self._async_schedule_changed
            ),
            async_track_time_interval(self.hass, self._async_refresh, REFRESH),
        ]
        _async_send_later(self.hass, self._entry, self.async_send_plan())

        @callback
        def stop() -> None:
            for unsubscribe in stops:
                unsubscribe()

        return stop

    @callback
    def async_presets_changed(self) -> None:
        """The Q.rad's preset temperatures may have changed: the plan with them."""
        if self._temperatures != self._preset_temperatures():
            _async_send_later(self.hass, self._entry, self.async_send_plan())

    async def async_send_plan(self) -> None:
        """Read the week of the schedule and send its changes, unless already sent."""
        try:
            answer = await self.hass.services.async_call(
                "schedule",
                "get_schedule",
                {"entity_id": self.schedule},
                blocking=True,
                return_response=True,
            )
        except HomeAssistantError as err:
            LOGGER.warning("Could not read the schedule %s: %s", self.schedule, err)
            return
        week = (answer or {}).get(self.schedule)
        if not isinstance(week, dict):
            LOGGER.warning("The schedule %s has no week to read", self.schedule)
            return
        self._temperatures = temperatures = self._preset_temperatures()
        targets = {on: (temperatures[p], p) for on, p in self.presets.items()}
        changes = plan_from_schedule(week, targets, dt_util.utcnow())
        if changes == self._sent:
            return
        try:
            await self._send_plan(changes)
        except ValueError as err:
            LOGGER.warning("The plan of %s was not sent: %s", self.schedule, err)
            return
        self._sent = changes

    async def _async_schedule_changed(
        self, event: Event[EventStateChangedData]
    ) -> None:
        old, new = event.data["old_state"], event.data["new_state"]
        if new is None:
            return
        if new.state in (STATE_ON, STATE_OFF) and (
            old is None or old.state != new.state
        ):
            await self._set_preset(self.presets[new.state == STATE_ON])
        # Its periods may have been edited too (that also rewrites the state).
        await self.async_send_plan()

    async def _async_refresh(self, _now: datetime) -> None:
        await self.async_send_plan()


class DayProgramFollower:
    """Tells the cloud the day program of a Q.rad in `auto`, as its plan."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        *,
        mode: Callable[[], HvacMode | None],
        preset_temperatures: Callable[[], dict[Preset, float]],
        send_plan: Callable[[tuple[PlannedChange, ...]], Awaitable[object]],
    ) -> None:
        """Read the Q.rad's mode and its preset temperatures through the callables."""
        self.hass = hass
        self._entry = entry
        self._mode = mode
        self._preset_temperatures = preset_temperatures
        self._send_plan = send_plan
        self._seen: tuple[HvacMode | None, dict[Preset, float]] | None = None
        self._sent: tuple[PlannedChange, ...] = ()

    @callback
    def async_start(self) -> Callable[[], None]:
        """Make the plan again twice a day; what stops it."""
        return async_track_time_interval(self.hass, self._async_refresh, REFRESH)

    @callback
    def async_thermostat_changed(self) -> None:
        """The mode or the preset temperatures may have changed: the plan with them."""
        seen = (self._mode(), self._preset_temperatures())
        if seen != self._seen:
            self._seen = seen
            _async_send_later(self.hass, self._entry, self.async_send_plan())

    async def async_send_plan(self) -> None:
        """The day program's next changes in `auto`; a withdrawal once out of it."""
        if self._mode() is HvacMode.AUTO:
            temperatures = self._preset_temperatures()
            targets = {
                True: (temperatures[Preset.COMFORT], Preset.COMFORT),
                False: (temperatures[Preset.ECO], Preset.ECO),
            }
            changes = plan_from_schedule(DAY_PROGRAM, targets, dt_util.utcnow())
        elif self._sent:
            changes = ()
        else:
            return
        if changes == self._sent:
            return
        try:
            await self._send_plan(changes)
        except ValueError as err:
            LOGGER.warning("The day program's plan was not sent: %s", err)
            return
        self._sent = changes

    async def _async_refresh(self, _now: datetime) -> None:
        await self.async_send_plan()
