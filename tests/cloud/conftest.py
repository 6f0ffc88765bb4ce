"""Fixtures of the cloud tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def expected_lingering_timers() -> bool:
    """The amqtt 0.12.1 broker leaves write-timeout timers behind at shutdown.

    They belong to the embedded broker's closed sessions and fire into nothing;
    Home Assistant's test plugin then only warns about them.
    """
    return True
