"""Where a broker listens and how a client reaches it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class TlsFiles:
    """A broker's certificate and key, and the CA that signed them."""

    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True, kw_only=True)
class BrokerEndpoint:
    """A broker's address as a client sees it: TLS, verified by `ca`, when set."""

    host: str
    port: int
    ca: Path | None = None

    @property
    def url(self) -> str:
        """`mqtt://host:port` or `mqtts://host:port`."""
        scheme = "mqtts" if self.ca else "mqtt"
        return f"{scheme}://{self.host}:{self.port}"
