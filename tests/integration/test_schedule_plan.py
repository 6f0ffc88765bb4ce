"""A schedule helper's week as a plan (schedule_plan.plan_from_schedule)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from custom_components.qrad.api import Preset
from custom_components.qrad.api.cloud import PLAN_VALIDITY
from custom_components.qrad.api.cloud_models import PlanSource
from custom_components.qrad.api.outbox import MemoryStore, Outbox
from custom_components.qrad.schedule_plan import WEEKDAYS, plan_from_schedule

TARGETS = {True: (21.0, Preset.COMFORT), False: (17.0, Preset.ECO)}


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    """1 December 2026 (a Tuesday) + `day`, in Home Assistant's zone, as UTC."""
    moment = datetime(
        2026, 12, 1 + day, hour, minute, tzinfo=dt_util.get_default_time_zone()
    )
    return dt_util.as_utc(moment)


async def test_periods_become_changes_in_order_within_the_horizon(
    hass: HomeAssistant,
) -> None:
    """On at each start, off at each end, none past the 36 hours ahead."""
    week = {key: [{"from": time(7), "to": time(9)}] for key in WEEKDAYS}
    changes = plan_from_schedule(week, TARGETS, _local(0, 6))
    assert [(c.at, c.target_temperature, c.preset) for c in changes] == [
        (_local(0, 7), 21.0, Preset.COMFORT),
        (_local(0, 9), 17.0, Preset.ECO),
        (_local(1, 7), 21.0, Preset.COMFORT),
        (_local(1, 9), 17.0, Preset.ECO),
    ]
    assert all(c.at.tzinfo is UTC for c in changes)


async def test_adjoining_periods_and_midnight_make_no_change_between(
    hass: HomeAssistant,
) -> None:
    """A period ending when the next begins, and one until 24:00, stay on."""
    week = {key: [] for key in WEEKDAYS}
    week["tuesday"] = [
        {"from": "18:00:00", "to": "20:00:00"},
        {"from": "20:00:00", "to": "24:00:00"},
    ]
    week["wednesday"] = [{"from": "00:00:00", "to": "06:30:00"}]
    changes = plan_from_schedule(week, TARGETS, _local(0, 12))
    assert [(c.at, c.target_temperature) for c in changes] == [
        (_local(0, 18), 21.0),
        (_local(1, 6, 30), 17.0),
    ]


async def test_now_inside_a_period_starts_with_its_end(hass: HomeAssistant) -> None:
    """The setpoint holds the present: the plan begins with what comes next."""
    week = {key: [{"from": time(7), "to": time(22)}] for key in WEEKDAYS}
    changes = plan_from_schedule(week, TARGETS, _local(0, 12), timedelta(hours=12))
    assert [(c.at, c.target_temperature) for c in changes] == [(_local(0, 22), 17.0)]


async def test_a_plan_made_at_a_change_fits_its_validity(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Made a few ms into a change, with another change 36 h on: still sent.

    The outbox counts the plan's validity from the whole second; the schedule's
    horizon ends before it, so the last change never falls on its end.
    """
    freezer.move_to(_local(0, 6) + timedelta(milliseconds=6))
    week = {key: [{"from": time(6), "to": time(18)}] for key in WEEKDAYS}
    changes = plan_from_schedule(week, TARGETS, dt_util.utcnow())
    outbox = Outbox(MemoryStore())
    plan = await outbox.add_plan(
        "QR3-000001", changes, source=PlanSource.SCHEDULE, valid_for=PLAN_VALIDITY
    )
    assert plan.changes == changes
    assert plan.changes[-1].at < plan.valid_until
    assert plan.valid_until - plan.issued_at >= timedelta(hours=24)
