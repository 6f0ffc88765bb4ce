"""The cloud broker's address as users and Q.rads write it: mqtt[s]://host:port."""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


def broker_address(url: str) -> tuple[str, int, bool]:
    """Host, port and whether TLS is on; `ValueError` for anything else."""
    parts = urlsplit(url.strip())
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not a broker address: {url!r}")
    if parts.path not in {"", "/"} or parts.query or parts.username:
        raise ValueError(f"not a broker address: {url!r}")
    return (
        parts.hostname,
        parts.port or DEFAULT_PORTS[parts.scheme],
        parts.scheme == "mqtts",
    )
