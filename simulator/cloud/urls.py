"""Broker URLs on the command line: `mqtt://host:port` or `mqtts://host:port`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from .endpoint import BrokerEndpoint


def parse_broker_url(url: str, ca_file: str | None = None) -> BrokerEndpoint:
    """The endpoint of `url`; an mqtts:// one is verified against `ca_file`."""
    parts = urlsplit(url)
    if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
        raise ValueError(f"not a broker URL (mqtt://host:port): {url}")
    ca = None
    if parts.scheme == "mqtts":
        if ca_file is None:
            raise ValueError("an mqtts:// broker needs --broker-ca")
        ca = Path(ca_file)
    default_port = 8883 if ca else 1883
    return BrokerEndpoint(host=parts.hostname, port=parts.port or default_port, ca=ca)
