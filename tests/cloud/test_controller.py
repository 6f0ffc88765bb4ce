"""Setpoints in, compute and heat out: cloud client, real broker, controller."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import cast

import aiomqtt
import pytest

from custom_components.qrad.api import QradAuthenticationError
from simulator.cloud.controller import PUBLISH_WINDOW, Controller, Window
from simulator.testing import CloudWorld, FileStore

from .helpers import (
    account_client,
    raw_client,
    setpoint_payload,
    submit,
    wait_until,
)


async def test_setpoint_drives_the_emulated_room(cloud_world: CloudWorld) -> None:
    """A setpoint reaches the controller; the unit's power follows; status says so."""
    unit = cloud_world.fleet.units[0]
    serial = unit.unit.identity.serial
    account, _ = cloud_world.account_of(unit)
    cloud = await account_client(cloud_world, account)
    try:
        await wait_until(lambda: unit.unit.control == "cloud")
        sent = await submit(cloud, serial, 30.0)
        assert await cloud.wait_delivered(10)
        await wait_until(
            lambda: (
                cloud.statuses.get(serial) is not None
                and cloud.statuses[serial].setpoint_seq == sent.seq
                and cloud.statuses[serial].power_target_w == 500.0
            )
        )
        await wait_until(lambda: unit.unit.power_w == 500.0)
        status = cloud.statuses[serial]
        assert status.jobs_running > 0
        assert status.gflops == pytest.approx(600.0)
        assert status.heat_source in {"compute", "filler"}

        sent = await submit(cloud, serial, 5.0)
        await wait_until(lambda: unit.unit.power_w == 0.0)
        await wait_until(lambda: cloud.statuses[serial].heat_source == "off")
        assert cloud.statuses[serial].setpoint_seq == sent.seq
    finally:
        await cloud.close()


async def test_energy_is_accounted_and_reimbursed(cloud_world: CloudWorld) -> None:
    """The controller's energy account grows with the unit's meter, at the tariff."""
    unit = cloud_world.fleet.units[0]
    serial = unit.unit.identity.serial
    account, _ = cloud_world.account_of(unit)
    cloud = await account_client(cloud_world, account)
    try:
        await submit(cloud, serial, 30.0)
        await wait_until(
            lambda: (
                serial in cloud.statuses and cloud.statuses[serial].energy_kwh > 0.01
            )
        )
        status = cloud.statuses[serial]
        assert status.reimbursed_eur == pytest.approx(
            status.energy_kwh * 0.2516, abs=1e-3
        )
    finally:
        await cloud.close()


async def test_wrong_credentials_are_an_authentication_error(
    cloud_world: CloudWorld,
) -> None:
    """A wrong secret is refused at CONNECT, as an authentication error."""
    account, _ = cloud_world.account_of(cloud_world.fleet.units[0])
    with pytest.raises(QradAuthenticationError):
        await account_client(cloud_world, account, secret="not-the-secret")
    with pytest.raises(QradAuthenticationError):
        await account_client(cloud_world, "nobody-here", secret="whatever")


async def test_an_account_cannot_touch_another_accounts_qrads(
    cloud_world: CloudWorld,
) -> None:
    """Account A can neither command B's Q.rad nor read B's topics."""
    unit_a = cloud_world.fleet.units[0]
    unit_b = cloud_world.fleet.units[-1]
    account_a, secret_a = cloud_world.account_of(unit_a)
    account_b, _ = cloud_world.account_of(unit_b)
    assert account_a != account_b
    serial_b = unit_b.unit.identity.serial
    await wait_until(lambda: unit_b.unit.control == "cloud")
    before = unit_b.unit.power_w
    async with raw_client(cloud_world, account_a, secret_a) as intruder:
        await intruder.subscribe(f"qrad/v1/acct/{account_b}/#", qos=1)
        await intruder.subscribe("qrad/v1/dev/+/telemetry", qos=0)
        await intruder.subscribe("qrad/v1/dev/+/control", qos=1)
        setpoint = {
            "serial": serial_b,
            "target_temperature": 5.0,
            "hvac_mode": "off",
            "preset": "none",
            "power_limit_w": 0,
            "origin": "user",
            "timestamp": "2026-11-25T07:30:02.418Z",
            "seq": 999,
        }
        # Through A's own prefix (the controller's ownership check) and B's (the ACL).
        for prefix in (account_a, account_b):
            await intruder.publish(
                f"qrad/v1/acct/{prefix}/{serial_b}/setpoint",
                json.dumps(setpoint),
                qos=1,
                retain=True,
            )
        seen = await foreign_topics(intruder, account_a, within_s=3)
    assert seen == []
    assert cloud_world.controller.scheduler.ledgers[serial_b].setpoint is None
    assert unit_b.unit.thermostat.hvac_mode == "heat"
    assert unit_b.unit.power_w == before or unit_b.unit.power_w > 0


async def foreign_topics(
    client: aiomqtt.Client, account: str, within_s: float
) -> list[str]:
    """Topics outside `account`'s own that reach `client` within `within_s`."""
    seen: list[str] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within_s):
            async for message in client.messages:
                topic = message.topic.value
                own = topic.startswith(f"qrad/v1/acct/{account}/")
                if not own and topic != "qrad/v1/cloud/availability":
                    seen.append(topic)
    return seen


async def test_a_unit_cannot_publish_setpoints(cloud_world: CloudWorld) -> None:
    """A unit's identity can only report on itself, never command."""
    unit = cloud_world.fleet.units[0]
    identity = unit.unit.identity
    async with raw_client(cloud_world, identity.serial, identity.cloud_secret) as rogue:
        await rogue.publish(
            f"qrad/v1/acct/{identity.account}/{identity.serial}/setpoint",
            json.dumps({"serial": identity.serial, "seq": 5}),
            qos=1,
        )
    await asyncio.sleep(1)
    assert cloud_world.controller.scheduler.ledgers[identity.serial].setpoint is None


async def test_duplicates_and_stale_setpoints_follow_the_contract(
    cloud_world: CloudWorld,
) -> None:
    """Latest seq wins; an equal seq is re-acknowledged; a lower seq is ignored."""
    unit = cloud_world.fleet.units[0]
    serial = unit.unit.identity.serial
    account, secret = cloud_world.account_of(unit)
    ledgers = cloud_world.controller.scheduler.ledgers

    def setpoint(seq: int, target: float) -> str:
        return setpoint_payload(serial, seq, target=target, origin="automation")

    topic = f"qrad/v1/acct/{account}/{serial}/setpoint"
    async with raw_client(cloud_world, account, secret) as client:
        await client.publish(topic, setpoint(7, 22.0), qos=1)
        await wait_until(lambda: ledgers[serial].setpoint is not None)
        await client.publish(topic, setpoint(6, 12.0), qos=1)
        await client.publish(topic, setpoint(7, 13.0), qos=1)
        await client.publish(topic, "{not json", qos=1)
        await client.publish(topic, setpoint(8, 23.5), qos=1)
        await wait_until(lambda: ledgers[serial].setpoint.seq == 8)  # type: ignore[union-attr]
    assert ledgers[serial].setpoint.target_temperature == 23.5  # type: ignore[union-attr]


async def test_broker_restart_loses_no_setpoint(
    crashable_world: CloudWorld, tmp_path: object
) -> None:
    """Setpoints made while the broker is down wait in the outbox and arrive after."""
    unit = crashable_world.fleet.units[0]
    serial = unit.unit.identity.serial
    account, _ = crashable_world.account_of(unit)
    cloud = await account_client(crashable_world, account)
    try:
        await submit(cloud, serial, 21.0)
        assert await cloud.wait_delivered(10)
        await crashable_world.broker.kill()
        await wait_until(lambda: not cloud.connected)
        await submit(cloud, serial, 21.5)
        last = await submit(cloud, serial, 22.5)
        assert cloud.outbox.pending[serial] == last
        await crashable_world.broker.start()
        assert await cloud.wait_delivered(30)
        ledger = crashable_world.controller.scheduler.ledgers[serial]
        await wait_until(
            lambda: ledger.setpoint is not None and ledger.setpoint.seq == last.seq
        )
        assert ledger.setpoint is not None
        assert ledger.setpoint.target_temperature == 22.5
    finally:
        await cloud.close()


async def test_a_broker_crash_keeps_the_acknowledged_setpoint(
    crashable_world: CloudWorld,
) -> None:
    """The outbox forgets a setpoint at its PUBACK: the broker must keep it.

    No client sends an acknowledged setpoint again, so a controller that starts
    after the crash has only what mosquitto saved. mosquitto acknowledges first
    and saves at its next turn: the crash comes a moment later, well within
    any time-based autosave's interval.
    """
    unit = crashable_world.fleet.units[0]
    serial = unit.unit.identity.serial
    account, secret = crashable_world.account_of(unit)
    cloud = await account_client(crashable_world, account)
    try:
        await submit(cloud, serial, 20.0)
        last = await submit(cloud, serial, 23.0)
        assert await cloud.wait_delivered(10)
        await asyncio.sleep(0.5)
        await crashable_world.broker.kill()
    finally:
        await cloud.close()
    await crashable_world.broker.start()
    async with raw_client(crashable_world, account, secret) as client:
        await client.subscribe(f"qrad/v1/acct/{account}/{serial}/setpoint", qos=1)
        async with asyncio.timeout(10):
            message = await anext(client.messages)
    assert message.retain
    assert json.loads(message.payload)["seq"] == last.seq  # type: ignore[arg-type]


async def first_message(
    world: CloudWorld, username: str, password: str, topic: str
) -> aiomqtt.Message:
    """The first message a client subscribing to `topic` now receives."""
    async with raw_client(world, username, password) as client:
        await client.subscribe(topic, qos=1)
        async with asyncio.timeout(10):
            return await anext(client.messages)


async def test_status_and_control_are_retained_for_late_subscribers(
    cloud_world: CloudWorld,
) -> None:
    """An account and a unit subscribing late still get the latest status and control.

    The controller is stopped first: nothing new is published, so what comes is
    what the broker kept, with the retain flag.
    """
    unit = cloud_world.fleet.units[0]
    serial = unit.unit.identity.serial
    account, secret = cloud_world.account_of(unit)
    status_topic = f"qrad/v1/acct/{account}/{serial}/status"
    control_topic = f"qrad/v1/dev/{serial}/control"
    # Both have been published: a control reached the unit, a status the account.
    await wait_until(lambda: unit.unit.control == "cloud")
    await first_message(cloud_world, account, secret, status_topic)
    await cloud_world.controller.stop()

    status = await first_message(cloud_world, account, secret, status_topic)
    control = await first_message(
        cloud_world, serial, unit.unit.identity.cloud_secret, control_topic
    )
    assert status.retain
    assert control.retain
    assert json.loads(status.payload)["serial"] == serial  # type: ignore[arg-type]
    assert "power_target_w" in json.loads(control.payload)  # type: ignore[arg-type]


async def test_controller_restart_recovers_setpoints_from_retained(
    cloud_world: CloudWorld,
) -> None:
    """A new controller reads the latest setpoints and energy back from the broker."""
    unit = cloud_world.fleet.units[1]
    serial = unit.unit.identity.serial
    account, _ = cloud_world.account_of(unit)
    cloud = await account_client(cloud_world, account)
    try:
        await submit(cloud, serial, 19.0)
        last = await submit(cloud, serial, 24.0)
        assert await cloud.wait_delivered(10)
        await wait_until(
            lambda: (
                cloud.statuses.get(serial) is not None
                and cloud.statuses[serial].energy_kwh > 0
            )
        )
        energy = cloud.statuses[serial].energy_kwh
    finally:
        await cloud.close()
    await cloud_world.controller.stop()
    fresh = Controller(
        cloud_world.directory, cloud_world.endpoint, cloud_world.fleet.clock
    )
    cloud_world.controller = fresh
    await fresh.start()
    ledger = fresh.scheduler.ledgers[serial]
    await wait_until(lambda: ledger.setpoint is not None)
    assert ledger.setpoint is not None
    assert ledger.setpoint.seq == last.seq
    assert ledger.setpoint.target_temperature == 24.0
    await wait_until(lambda: ledger.energy_kwh >= energy)


async def test_outbox_survives_a_home_assistant_restart(
    cloud_world: CloudWorld, tmp_path: object
) -> None:
    """A setpoint accepted while the cloud was away is delivered by the next run."""
    from pathlib import Path  # noqa: PLC0415

    assert isinstance(tmp_path, Path)
    store = FileStore(tmp_path / "outbox.json")
    unit = cloud_world.fleet.units[0]
    serial = unit.unit.identity.serial
    account, _ = cloud_world.account_of(unit)
    cloud = await account_client(cloud_world, account, store=store)
    await cloud_world.broker.stop()
    await wait_until(lambda: not cloud.connected)
    last = await submit(cloud, serial, 26.0)
    await cloud.close()
    await cloud_world.broker.start()

    again = await account_client(cloud_world, account, store=store)
    try:
        assert again.outbox.pending[serial] == last
        assert await again.wait_delivered(30)
        ledger = cloud_world.controller.scheduler.ledgers[serial]
        await wait_until(
            lambda: ledger.setpoint is not None and ledger.setpoint.seq == last.seq
        )
    finally:
        await again.close()


async def test_a_lost_outbox_does_not_make_new_setpoints_stale(
    cloud_world: CloudWorld,
) -> None:
    """With its local store gone, the client continues above the retained seq."""
    unit = cloud_world.fleet.units[0]
    serial = unit.unit.identity.serial
    account, _ = cloud_world.account_of(unit)
    first = await account_client(cloud_world, account)
    for target in (20.0, 20.5, 21.0):
        await submit(first, serial, target)
    assert await first.wait_delivered(10)
    await first.close()

    forgetful = await account_client(cloud_world, account)
    try:
        await wait_until(lambda: forgetful.outbox.next_seq(serial) > 3)
        sent = await submit(forgetful, serial, 25.0)
        assert sent.seq == 4
        ledger = cloud_world.controller.scheduler.ledgers[serial]
        await wait_until(
            lambda: ledger.setpoint is not None and ledger.setpoint.seq == 4
        )
    finally:
        await forgetful.close()


async def test_a_period_is_pipelined_in_order_and_outlives_a_failure() -> None:
    """At most a window of publishes awaits its PUBACK; a failure stops no other."""
    messages = [(f"qrad/v1/dev/QR3-{i}/control", "{}") for i in range(100)]
    sent: list[str] = []
    awaiting = most = 0

    class Client:
        async def publish(
            self, topic: str, payload: str, *, qos: int, retain: bool
        ) -> None:
            nonlocal awaiting, most
            assert (payload, qos, retain) == ("{}", 1, True)
            sent.append(topic)
            awaiting += 1
            most = max(most, awaiting)
            await asyncio.sleep(0.001)
            awaiting -= 1
            if topic == messages[7][0]:
                raise aiomqtt.MqttError("Operation timed out")

    failures = await Window(cast("aiomqtt.Client", Client())).publish_all(messages)
    assert sent == [topic for topic, _ in messages]
    assert most == PUBLISH_WINDOW
    assert [str(err) for err in failures] == ["Operation timed out"]
