"""Fixtures of the cloud tests."""

from __future__ import annotations

import pytest

from simulator.cloud.mosquitto import Mosquitto
from simulator.testing import CloudWorld


@pytest.fixture
def expected_lingering_timers() -> bool:
    """The amqtt 0.12.1 broker leaves write-timeout timers behind at shutdown.

    They belong to the embedded broker's closed sessions and fire into nothing;
    Home Assistant's test plugin then only warns about them.
    """
    return True


@pytest.fixture
def crashable_world(cloud_world: CloudWorld) -> CloudWorld:
    """The cloud world when its broker can be killed: mosquitto, a process."""
    if not isinstance(cloud_world.broker, Mosquitto):
        pytest.skip("a crash of the reference broker; the embedded one is in-process")
    return cloud_world
