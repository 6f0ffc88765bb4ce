"""Two controller workers share the fleet (MQTT 5 shared subscriptions); one dies.

The reference broker only: shared subscriptions are MQTT 5, which the embedded
broker does not speak. Worker 1 runs in its own process and is killed with
SIGKILL (no DISCONNECT, no goodbye); worker 2 must take over every Q.rad and
no setpoint may be lost, including those sent right after the kill.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
import json
import os
from pathlib import Path
import signal
import sys

import aiomqtt
import pytest

from simulator.cloud.access import CONTROLLER
from simulator.cloud.controller import Controller
from simulator.cloud.endpoint import BrokerEndpoint
from simulator.cloud.link import make_client
from simulator.cloud.mosquitto import Mosquitto, MosquittoNotFoundError
from simulator.fleet import Fleet, FleetConfig
from simulator.testing import free_port, free_port_range

from .helpers import setpoint_payload, wait_until

GROUP = "controllers"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class SharedWorld:
    """A fleet, mosquitto, a worker process and an in-process worker."""

    fleet: Fleet
    endpoint: BrokerEndpoint
    process: asyncio.subprocess.Process
    survivor: Controller
    controls: list[tuple[str, int | None, float]]


async def _observe(
    endpoint: BrokerEndpoint, secret: str, seen: list[tuple[str, int | None, float]]
) -> None:
    """Record which worker issued each control message, and its power."""
    async with make_client(
        endpoint, username=CONTROLLER, password=secret, identifier="observer"
    ) as client:
        await client.subscribe("qrad/v1/dev/+/control", qos=1)
        await client.subscribe("qrad/v1/cloud/availability", qos=1)
        async for message in client.messages:
            if message.topic.value == "qrad/v1/cloud/availability":
                seen.append(("availability", None, float(message.payload == b"online")))
                continue
            data = json.loads(message.payload)  # type: ignore[arg-type]
            worker = (data.get("loop_state") or {}).get("worker")
            serial = message.topic.value.split("/")[3]
            seen.append((serial, worker, float(data["power_target_w"])))


@pytest.fixture
async def shared_world(tmp_path: Path) -> AsyncIterator[SharedWorld]:
    """Four Q.rads at 60x; workers 1 (a process) and 2 (here) share them."""
    port = free_port()
    endpoint = BrokerEndpoint(host="127.0.0.1", port=port)
    fleet = Fleet(
        FleetConfig(
            count=4,
            base_port=free_port_range(4, avoid={port}),
            speed=60,
            announce=False,
            accounts=2,
            cloud=endpoint,
        )
    )
    broker = Mosquitto(fleet.directory, tmp_path / "broker", port=port)
    try:
        await broker.start()
    except MosquittoNotFoundError:
        pytest.skip("mosquitto is not installed")
    directory = tmp_path / "directory.json"
    fleet.directory.save(directory)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator.cloud",
        "--directory",
        str(directory),
        "--broker",
        endpoint.url,
        "--speed",
        "60",
        "--time-origin",
        str(fleet.clock.origin),
        "--shared-group",
        GROUP,
        "--worker",
        "1",
        cwd=REPO,
        env=os.environ | {"PYTHONPATH": str(REPO)},
    )
    survivor = Controller(
        fleet.directory, endpoint, fleet.clock, worker=2, shared_group=GROUP
    )
    await survivor.start()
    controls: list[tuple[str, int | None, float]] = []
    observer = asyncio.create_task(
        _observe(endpoint, fleet.directory.controller_secret, controls)
    )
    try:
        async with fleet:
            yield SharedWorld(fleet, endpoint, process, survivor, controls)
    finally:
        observer.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await observer
        if process.returncode is None:
            process.kill()
            await process.wait()
        await survivor.stop()
        await broker.stop()


async def _publish_setpoints(
    world: SharedWorld, seq: int, target: float
) -> dict[str, int]:
    """Every Q.rad's setpoint, as its account's integration would (retained, QoS 1)."""
    sent = {}
    for server in world.fleet.units:
        identity = server.unit.identity
        account = identity.account
        secret = world.fleet.directory.accounts[account]
        async with make_client(
            world.endpoint,
            username=account,
            password=secret,
            identifier=f"ha-{account}-{seq}-{identity.serial}",
        ) as client:
            await client.publish(
                f"qrad/v1/acct/{account}/{identity.serial}/setpoint",
                setpoint_payload(identity.serial, seq, target=target),
                qos=1,
                retain=True,
            )
        sent[identity.serial] = seq
    return sent


async def test_a_killed_worker_loses_no_setpoint(shared_world: SharedWorld) -> None:
    """Both workers serve; worker 1 is killed; worker 2 applies every setpoint."""
    world = shared_world
    units = [server.unit for server in world.fleet.units]
    ledgers = world.survivor.scheduler.ledgers
    await wait_until(lambda: all(unit.control == "cloud" for unit in units), 30)
    await wait_until(
        lambda: {w for s, w, _ in world.controls if s != "availability"} >= {1, 2}, 30
    )

    await _publish_setpoints(world, 1, 30.0)
    await wait_until(lambda: all(unit.power_w == 500.0 for unit in units), 30)

    os.kill(world.process.pid, signal.SIGKILL)
    await world.process.wait()
    killed_at = len(world.controls)
    # Sent while the broker may still count the dead worker in the group.
    await _publish_setpoints(world, 2, 5.0)

    await wait_until(
        lambda: all(
            ledger.setpoint is not None and ledger.setpoint.seq == 2
            for ledger in ledgers.values()
        ),
        30,
    )
    await wait_until(lambda: all(unit.power_w == 0.0 for unit in units), 30)
    availability = [
        power for serial, _, power in world.controls if serial == "availability"
    ]
    await wait_until(
        lambda: [p for s, _, p in world.controls if s == "availability"][-1:] == [1.0]
    )
    assert 0.0 in availability or availability[-1] == 1.0
    # Waited for, not sampled: how many controls follow the kill before the
    # waits above end depends on the machine's load.
    await wait_until(
        lambda: (
            _last_worker_of_each(world.controls[killed_at:])
            == dict.fromkeys((u.identity.serial for u in units), 2)
        ),
        30,
    )
    assert all(unit.control == "cloud" for unit in units)
    assert world.survivor.telemetry_handled > 0


def _last_worker_of_each(
    controls: list[tuple[str, int | None, float]],
) -> dict[str, int | None]:
    """Which worker sent each Q.rad's latest control message."""
    return {
        serial: worker for serial, worker, _ in controls if serial != "availability"
    }
