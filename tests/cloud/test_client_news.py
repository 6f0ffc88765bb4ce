"""What the cloud client tells whom: a status goes to its Q.rad, a link change to all.

At building scale an account holds hundreds of Q.rads and the controller sends
each a status every period: if each status woke the whole account, the work
would grow as the square of the fleet (README, Performance).
"""

from __future__ import annotations

from collections import Counter

from custom_components.qrad.api.cloud import QradCloud
from custom_components.qrad.api.cloud_models import ComputeStatus
from simulator.testing import CloudWorld

from .helpers import account_client, submit, wait_until


class Listener:
    """Records what the client reports: link changes and statuses by serial."""

    def __init__(self, cloud: QradCloud) -> None:
        """Take the client's two callbacks."""
        self.cloud = cloud
        self.changes: list[tuple[bool, bool | None]] = []
        self.statuses: Counter[str] = Counter()
        cloud.on_change = self._changed
        cloud.on_status = self._status

    def _changed(self) -> None:
        self.changes.append((self.cloud.connected, self.cloud.controller_online))

    def _status(self, status: ComputeStatus) -> None:
        self.statuses[status.serial] += 1


async def test_statuses_go_to_their_qrad_and_wake_nobody_else(
    cloud_world: CloudWorld,
) -> None:
    """Periods of statuses for two Q.rads: each heard by serial, no link news."""
    units = [
        unit
        for unit in cloud_world.fleet.units
        if cloud_world.account_of(unit)[0]
        == cloud_world.account_of(cloud_world.fleet.units[0])[0]
    ]
    assert len(units) >= 2
    serials = [unit.unit.identity.serial for unit in units]
    account, _ = cloud_world.account_of(units[0])
    cloud = await account_client(cloud_world, account)
    try:
        await wait_until(lambda: cloud.controller_online is True)
        listener = Listener(cloud)
        for serial in serials:
            await submit(cloud, serial, 22.0)
        await wait_until(lambda: all(listener.statuses[s] >= 3 for s in serials))
        assert set(listener.statuses) <= set(serials)
        assert listener.changes == []
    finally:
        await cloud.close()


async def test_a_broker_crash_is_news_twice(crashable_world: CloudWorld) -> None:
    """The link going and coming back: told once each, in that order."""
    unit = crashable_world.fleet.units[0]
    serial = unit.unit.identity.serial
    account, _ = crashable_world.account_of(unit)
    cloud = await account_client(crashable_world, account)
    try:
        await wait_until(lambda: cloud.controller_online is True)
        listener = Listener(cloud)
        await submit(cloud, serial, 22.0)
        await wait_until(lambda: listener.statuses[serial] >= 1)
        await crashable_world.broker.kill()
        await wait_until(lambda: not cloud.connected)
        await crashable_world.broker.start()
        await wait_until(lambda: cloud.connected)
        await wait_until(lambda: listener.statuses[serial] >= 3, timeout=30)
        assert listener.changes == [(False, True), (True, True)]
    finally:
        await cloud.close()
