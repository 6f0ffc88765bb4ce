"""How the reference broker is configured: persistence and queues."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from simulator.cloud.access import CONTROLLER, Directory
from simulator.cloud.controller import Window
from simulator.cloud.link import make_client
from simulator.cloud.mosquitto import (
    SQLITE_PLUGIN,
    Mosquitto,
    MosquittoNotFoundError,
    _persistence,
)
from simulator.testing import free_port


def test_persistence_is_the_sqlite_plugin_where_the_broker_has_it(
    tmp_path: Path,
) -> None:
    """The SQLite plugin of mosquitto 2.1 where installed, else a save per change."""
    binary = tmp_path / "sbin" / "mosquitto"
    binary.parent.mkdir()
    binary.touch()
    assert _persistence(str(binary)) == [
        "persistence true",
        "autosave_interval 1",
        "autosave_on_changes true",
    ]
    plugin = tmp_path / "lib" / "x86_64-linux-gnu" / "mosquitto" / SQLITE_PLUGIN
    plugin.parent.mkdir(parents=True)
    plugin.touch()
    assert _persistence(str(binary)) == [
        f"global_plugin {plugin.resolve()}",
        "plugin_opt_flush_period 0",
        "plugin_opt_sync full",
    ]


async def test_a_subscriber_is_sent_every_retained_message(tmp_path: Path) -> None:
    """More than mosquitto queues per client by default (1000), none dropped.

    A controller (re)connecting reads the whole fleet's setpoints this way.
    """
    directory = Directory(accounts={}, units={}, controller_secret="secret")
    broker = Mosquitto(directory, tmp_path / "broker", port=free_port())
    try:
        await broker.start()
    except MosquittoNotFoundError:
        pytest.skip("mosquitto is not installed")
    topics = {f"qrad/v1/acct/acct-0/QR3-{i:06X}/setpoint" for i in range(1100)}
    received: set[str] = set()
    try:
        async with make_client(
            broker.endpoint, username=CONTROLLER, password="secret", identifier="a"
        ) as client:
            assert await Window(client).publish_all([(t, "{}") for t in topics]) == []
        async with make_client(
            broker.endpoint, username=CONTROLLER, password="secret", identifier="b"
        ) as client:
            await client.subscribe("qrad/v1/acct/+/+/setpoint", qos=1)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(30):
                    async for message in client.messages:
                        received.add(message.topic.value)
                        if received == topics:
                            break
    finally:
        await broker.stop()
    assert len(received) == len(topics)
