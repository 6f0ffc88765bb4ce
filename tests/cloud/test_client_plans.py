"""The integration's cloud client sends plans (protocol 6.11) as it sends setpoints.

Through the durable outbox, over TLS to a real broker and the controller: a
plan arrives and is applied; one made while the broker is down survives a
restart of Home Assistant and is delivered by the next run; a lost local store
does not make new plans look stale; a plan that breaks 6.11 never leaves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custom_components.qrad.api import Preset
from custom_components.qrad.api.cloud_models import PlannedChange, PlanSource
from simulator.testing import CloudWorld, FileStore

from .helpers import account_client, wait_until


def evening(hours_ahead: float = 3.0) -> tuple[PlannedChange, ...]:
    """Comfort in a few hours, eco three hours later."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours_ahead)
    return (
        PlannedChange(start, 21.0, Preset.COMFORT),
        PlannedChange(start + timedelta(hours=3), 17.0, Preset.ECO),
    )


async def test_a_plan_reaches_the_controller(cloud_world: CloudWorld) -> None:
    """Sent, acknowledged, and in force at the controller with its changes."""
    unit = cloud_world.fleet.units[0]
    serial = unit.unit.identity.serial
    account, _ = cloud_world.account_of(unit)
    cloud = await account_client(cloud_world, account)
    try:
        sent = await cloud.submit_plan(serial, evening(), source=PlanSource.SCHEDULE)
        assert await cloud.wait_delivered(10)
        ledger = cloud_world.controller.scheduler.ledgers[serial]
        await wait_until(
            lambda: ledger.plan is not None and ledger.plan.seq == sent.seq
        )
        assert ledger.plan is not None
        assert [c.target_temperature for c in ledger.plan.changes] == [21.0, 17.0]
        assert ledger.plan_refused is None
    finally:
        await cloud.close()


async def test_a_plan_made_while_the_broker_is_down_survives_a_restart(
    cloud_world: CloudWorld, tmp_path: Path
) -> None:
    """Kept on disk with the setpoints; the next run delivers it."""
    store = FileStore(tmp_path / "outbox.json")
    unit = cloud_world.fleet.units[0]
    serial = unit.unit.identity.serial
    account, _ = cloud_world.account_of(unit)
    cloud = await account_client(cloud_world, account, store=store)
    await cloud_world.broker.stop()
    await wait_until(lambda: not cloud.connected)
    await cloud.submit_plan(serial, evening(2.0), source=PlanSource.SCHEDULE)
    last = await cloud.submit_plan(serial, evening(4.0), source=PlanSource.SCHEDULE)
    await cloud.close()
    await cloud_world.broker.start()

    again = await account_client(cloud_world, account, store=store)
    try:
        assert again.outbox.plans[serial] == last
        assert await again.wait_delivered(30)
        ledger = cloud_world.controller.scheduler.ledgers[serial]
        await wait_until(
            lambda: ledger.plan is not None and ledger.plan.seq == last.seq
        )
        assert ledger.plan is not None
        wall = cloud_world.controller.clock.real
        assert wall(ledger.plan.changes[0].at) == last.changes[0].at
    finally:
        await again.close()


async def test_a_lost_outbox_does_not_make_new_plans_stale(
    cloud_world: CloudWorld,
) -> None:
    """With its local store gone, the client numbers on above the retained plan."""
    unit = cloud_world.fleet.units[0]
    serial = unit.unit.identity.serial
    account, _ = cloud_world.account_of(unit)
    first = await account_client(cloud_world, account)
    for hours in (1.0, 2.0, 3.0):
        await first.submit_plan(serial, evening(hours), source=PlanSource.SERVICE)
    assert await first.wait_delivered(10)
    await first.close()

    fresh = await account_client(cloud_world, account)
    try:
        plan = await fresh.submit_plan(serial, evening(5.0), source=PlanSource.SERVICE)
        assert await fresh.wait_delivered(10)
        ledger = cloud_world.controller.scheduler.ledgers[serial]
        await wait_until(lambda: ledger.plan is not None and ledger.plan.seq >= 4)
        assert ledger.plan is not None
        wall = cloud_world.controller.clock.real
        assert wall(ledger.plan.changes[0].at) == plan.changes[0].at
    finally:
        await fresh.close()


async def test_a_plan_that_breaks_the_protocol_never_leaves(
    cloud_world: CloudWorld,
) -> None:
    """Out of order, or a target out of range: ValueError, and nothing queued."""
    unit = cloud_world.fleet.units[0]
    serial = unit.unit.identity.serial
    account, _ = cloud_world.account_of(unit)
    cloud = await account_client(cloud_world, account)
    try:
        with pytest.raises(ValueError, match="time order"):
            await cloud.submit_plan(
                serial, tuple(reversed(evening())), source=PlanSource.SERVICE
            )
        later = datetime.now(UTC) + timedelta(hours=1)
        with pytest.raises(ValueError, match="5-30"):
            await cloud.submit_plan(
                serial, (PlannedChange(later, 35.0),), source=PlanSource.SERVICE
            )
        assert serial not in cloud.outbox.plans
    finally:
        await cloud.close()
