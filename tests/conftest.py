"""Fixtures shared by every test.

The whole suite runs inside the emulated LAN (scripts/test puts it in a
private network namespace), so sockets are allowed for every test: nothing a
test opens can reach beyond this machine.
"""

from __future__ import annotations

import pytest
import pytest_socket

# Imported first so that our integration, not the test plugin's
# testing_config/custom_components, is the `custom_components` package.
import custom_components.qrad  # noqa: F401

pytest_plugins = ["simulator.testing"]


# Loopback and the emulated LAN that scripts/_enter builds (172.30.0.0/16).
ALLOWED_HOSTS = ["127.0.0.1", "172.30.0.0/16"]


@pytest.fixture(autouse=True)
def _sockets_allowed(socket_enabled: None) -> None:
    """Let every test talk to emulated Q.rads and brokers over real sockets."""
    pytest_socket.socket_allow_hosts(ALLOWED_HOSTS, allow_unix_socket=True)
