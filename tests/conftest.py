"""Fixtures shared by every test.

The whole suite runs inside the emulated LAN (scripts/test puts it in a
private network namespace), so sockets are allowed for every test: nothing a
test opens can reach beyond this machine.
"""

from __future__ import annotations

import pytest

# Imported first so that our integration, not the test plugin's
# testing_config/custom_components, is the `custom_components` package.
import custom_components.qrad  # noqa: F401


@pytest.fixture(autouse=True)
def _sockets_allowed(socket_enabled: None) -> None:
    """Let every test talk to emulated Q.rads and brokers over real sockets."""
