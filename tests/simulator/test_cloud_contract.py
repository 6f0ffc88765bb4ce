"""The emulated controller keeps the setpoint contract of section 6.3, over MQTT."""

from __future__ import annotations

import asyncio

from simulator.cloud.link import make_client
from simulator.testing import CloudWorld
from tests.cloud.helpers import setpoint_payload


async def test_a_setpoint_naming_another_serial_than_its_topic_is_ignored(
    cloud_world: CloudWorld,
) -> None:
    """The body's serial MUST equal the topic's: one that does not is applied nowhere.

    Both Q.rads belong to the account, so only that rule refuses it. The good
    setpoint sent after it, on the same session, shows it was read by then;
    its lower seq would be stale had the bad one been applied to the topic's.
    """
    first, second = cloud_world.fleet.units[:2]
    account, secret = cloud_world.account_of(first)
    assert cloud_world.account_of(second)[0] == account
    serial, other = first.unit.identity.serial, second.unit.identity.serial
    ledgers = cloud_world.controller.scheduler.ledgers
    topic = f"qrad/v1/acct/{account}/{serial}/setpoint"
    async with make_client(
        cloud_world.endpoint, username=account, password=secret, identifier="raw"
    ) as client:
        await client.publish(topic, setpoint_payload(other, 60), qos=1)
        await client.publish(topic, setpoint_payload(serial, 51), qos=1)
        async with asyncio.timeout(5):
            while ledgers[serial].setpoint is None:
                await asyncio.sleep(0.02)
    applied = ledgers[serial].setpoint
    assert applied is not None
    assert applied.seq == 51
    assert ledgers[other].setpoint is None
