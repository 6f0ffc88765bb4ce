"""The Wi-Fi section of an emulated Q.rad: its access point and who is on it.

It owns the settings the owner writes (docs/protocol.md 3.2, `PATCH /wifi`)
and the clients that join and leave (emulator events, or the household).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
import random
import re
from typing import Any

from simulator.clock import iso

from .validation import boolean, check_fields, invalid, text

MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
MAX_CLIENTS = 32
CLIENT_NAMES = ("Anna's phone", "Laptop", "Tablet", "Leo's phone", "TV")


@dataclass(kw_only=True)
class WifiClient:
    """A phone or laptop on the unit's access point."""

    mac: str
    name: str | None
    ip: str
    signal_dbm: int
    connected_since: datetime


@dataclass(kw_only=True)
class AccessPoint:
    """The unit's access point."""

    ssid: str
    # The unit's own draws: a client joining is as seeded as the rest of it.
    rng: random.Random
    enabled: bool = True
    clients: list[WifiClient] = field(default_factory=list)

    def patch(self, body: Mapping[str, Any]) -> None:
        """Access point on/off, SSID, passphrase."""
        check_fields(body, {"enabled", "ssid", "passphrase"})
        enabled = boolean(body, "enabled") if "enabled" in body else self.enabled
        ssid = text(body, "ssid", 1, 32) if "ssid" in body else self.ssid
        if "passphrase" in body:
            passphrase = body["passphrase"]
            if (
                not isinstance(passphrase, str)
                or not 8 <= len(passphrase) <= 63
                or not passphrase.isascii()
                or not passphrase.isprintable()
            ):
                raise invalid("passphrase", "must be 8-63 printable ASCII characters")
        self.enabled, self.ssid = enabled, ssid
        if not enabled:
            self.clients = []

    def join(
        self, mac: str | None, name: str | None, now: datetime
    ) -> WifiClient | None:
        """A device joins (none while off or full); unnamed, it is drawn."""
        if not self.enabled or len(self.clients) >= MAX_CLIENTS:
            return None
        if mac is not None and not MAC.fullmatch(mac):
            raise invalid("mac", "must be a lower-case MAC like 3c:22:fb:00:11:22")
        if name is not None and not (1 <= len(name) <= 64 and name.isprintable()):
            raise invalid("name", "must be 1-64 printable characters")
        number = self.rng.randrange(1 << 24)
        client = WifiClient(
            mac=mac
            or "3c:22:fb:"
            + ":".join(f"{(number >> s) & 0xFF:02x}" for s in (16, 8, 0)),
            name=name or self.rng.choice(CLIENT_NAMES),
            ip=self._free_ip(),
            signal_dbm=self.rng.randint(-80, -40),
            connected_since=now,
        )
        self.clients = [c for c in self.clients if c.mac != client.mac] + [client]
        return client

    def leave(self, mac: str) -> bool:
        """A device leaves; whether it was there."""
        before = len(self.clients)
        self.clients = [c for c in self.clients if c.mac != mac]
        return len(self.clients) != before

    def _free_ip(self) -> str:
        """The lowest address of the access point's range no client holds."""
        taken = {client.ip for client in self.clients}
        return next(
            f"192.168.50.{host}"
            for host in range(10, 250)
            if f"192.168.50.{host}" not in taken
        )

    def wire(self) -> dict[str, Any]:
        """`wifi` of the state object."""
        return {
            "enabled": self.enabled,
            "ssid": self.ssid,
            "channel": 6,
            "clients": [
                {
                    "mac": c.mac,
                    "name": c.name,
                    "ip": c.ip,
                    "signal_dbm": c.signal_dbm,
                    "connected_since": iso(c.connected_since),
                }
                for c in self.clients
            ],
        }
