"""A real Home Assistant process for the benchmark, and a WebSocket client of it.

Its config directory holds a minimal configuration (HTTP, the WebSocket API,
the probe; no recorder, no zeroconf, no frontend), the qrad integration as a
symbolic link to this repository's, the probe (benchmarks/ha_probe), and
`.storage/core.config_entries` written beforehand with one entry per Q.rad
(tokens from the emulated units' pairing) and the cloud account's entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
import contextlib
from dataclasses import dataclass, field
import itertools
import json
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import time
from types import MappingProxyType
from typing import Any

import aiohttp
from homeassistant.config_entries import (
    STORAGE_KEY,
    STORAGE_VERSION,
    STORAGE_VERSION_MINOR,
    ConfigEntry,
)

REPO = Path(__file__).resolve().parents[1]
PROBE = Path(__file__).resolve().parent / "ha_probe"
STOP_GRACE_S = 60.0


@dataclass(frozen=True, kw_only=True)
class PairedUnit:
    """An emulated Q.rad and the token Home Assistant will use."""

    serial: str
    name: str
    host: str
    port: int
    account: str
    token: str
    token_id: str


def config_entries(
    units: Iterable[PairedUnit], broker: str | None, accounts: dict[str, str]
) -> list[dict[str, Any]]:
    """The storage form of the qrad entries, as the config flow creates them."""
    entries = []
    used_accounts: set[str] = set()
    for unit in units:
        used_accounts.add(unit.account)
        entries.append(
            _entry(
                unit.name,
                unit.serial,
                {
                    "kind": "device",
                    "host": unit.host,
                    "port": unit.port,
                    "serial": unit.serial,
                    "token": unit.token,
                    "token_id": unit.token_id,
                    "account": unit.account if broker else None,
                },
            )
        )
    if broker:
        entries.extend(
            _entry(
                f"Cloud account {account}",
                f"account:{account}",
                {
                    "kind": "account",
                    "account": account,
                    "broker": broker,
                    "password": accounts[account],
                    "verify_ssl": True,
                    "ca_certificate": "",
                },
            )
            for account in sorted(used_accounts)
        )
    return entries


def _entry(title: str, unique_id: str, data: dict[str, Any]) -> dict[str, Any]:
    entry = ConfigEntry(
        data=data,
        discovery_keys=MappingProxyType({}),
        domain="qrad",
        minor_version=1,
        options={},
        source="user",
        subentries_data=None,
        title=title,
        unique_id=unique_id,
        version=1,
    )
    return entry.as_dict()


def write_config(
    config: Path,
    port: int,
    expected: int,
    entries: list[dict[str, Any]],
) -> None:
    """A fresh config directory for a Home Assistant with these entries."""
    if config.exists():
        shutil.rmtree(config)
    (config / ".storage").mkdir(parents=True)
    (config / "configuration.yaml").write_text(
        "\n".join(
            [
                "# Written by the qrad benchmark (benchmarks/hass.py).",
                "homeassistant:",
                "  name: qrad benchmark",
                "  latitude: 48.85",
                "  longitude: 2.35",
                "  elevation: 35",
                "  unit_system: metric",
                "  time_zone: Europe/Paris",
                "  country: FR",
                "  currency: EUR",
                "http:",
                "  server_host: 127.0.0.1",
                f"  server_port: {port}",
                "api:",
                "websocket_api:",
                "qrad_probe:",
                f"  expected: {expected}",
                "logger:",
                "  default: warning",
                "",
            ]
        )
    )
    components = config / "custom_components"
    components.mkdir()
    (components / "qrad").symlink_to(REPO / "custom_components" / "qrad")
    shutil.copytree(
        PROBE, components / "qrad_probe", ignore=shutil.ignore_patterns("__pycache__")
    )
    (config / ".storage" / STORAGE_KEY).write_text(
        json.dumps(
            {
                "version": STORAGE_VERSION,
                "minor_version": STORAGE_VERSION_MINOR,
                "key": STORAGE_KEY,
                "data": {"entries": entries},
            },
            indent=1,
        )
    )


@dataclass
class HomeAssistant:
    """`python -m homeassistant` on a config directory."""

    config: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def url(self) -> str:
        """Its HTTP address."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The process id."""
        if self.process is None:
            raise RuntimeError("Home Assistant is not running")
        return self.process.pid

    @property
    def token_file(self) -> Path:
        """Where the probe writes an access token."""
        return self.config / ".bench_token"

    def start(self, extra_env: dict[str, str] | None = None) -> None:
        """Start the process; `started_at` is the wall-clock time of the start."""
        self.token_file.unlink(missing_ok=True)
        log = (self.config / "stdout.log").open("ab")
        self.started_at = time.time()
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                *("-m", "homeassistant", "--config", str(self.config)),
                "--skip-pip",
            ],
            cwd=self.config,
            env={**os.environ, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    async def stop(self) -> float:
        """SIGTERM, wait; return how long it took to stop."""
        if self.process is None:
            return 0.0
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.process.wait, STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            await asyncio.to_thread(self.process.wait)
        self.process = None
        return time.monotonic() - began

    async def wait_token(self, limit_s: float) -> str:
        """The probe's access token, once Home Assistant has set the probe up."""
        deadline = time.monotonic() + limit_s
        while not self.token_file.exists():
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"Home Assistant exited ({self.process.returncode}); see "
                    f"{self.config / 'home-assistant.log'}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError("Home Assistant did not set the probe up in time")
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.05)
        return self.token_file.read_text().strip()


class HaError(RuntimeError):
    """Home Assistant answered a command with an error."""


@dataclass
class HaSocket:
    """One authenticated WebSocket connection to Home Assistant's API."""

    session: aiohttp.ClientSession
    socket: aiohttp.ClientWebSocketResponse
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _waiting: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    _subscriptions: dict[int, Callable[[dict[str, Any], float], None]] = field(
        default_factory=dict
    )
    _reader: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, url: str, token: str, limit_s: float = 120) -> HaSocket:
        """Connect and authenticate (retrying while the HTTP server comes up)."""
        session = aiohttp.ClientSession()
        deadline = time.monotonic() + limit_s
        while True:
            try:
                socket = await session.ws_connect(
                    f"{url}/api/websocket", max_msg_size=0
                )
                break
            except aiohttp.ClientError, OSError:
                if time.monotonic() > deadline:
                    await session.close()
                    raise
                await asyncio.sleep(0.2)
        await socket.receive_json()
        await socket.send_json({"type": "auth", "access_token": token})
        answer = await socket.receive_json()
        if answer.get("type") != "auth_ok":
            await session.close()
            raise HaError(f"authentication refused: {answer}")
        self = cls(session, socket)
        self._reader = asyncio.create_task(self._read())
        return self

    async def close(self) -> None:
        """Close the connection."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.socket.close()
        await self.session.close()

    async def _read(self) -> None:
        async for message in self.socket:
            received = time.time()
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            for item in data if isinstance(data, list) else [data]:
                self._dispatch(item, received)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(HaError("connection closed"))

    def _dispatch(self, item: dict[str, Any], received: float) -> None:
        ident = item.get("id")
        if item.get("type") == "event" and ident in self._subscriptions:
            self._subscriptions[ident](item["event"], received)
        elif item.get("type") == "result" and ident in self._waiting:
            future = self._waiting.pop(ident)
            if future.done():
                return
            if item.get("success"):
                future.set_result(item.get("result"))
            else:
                future.set_exception(HaError(str(item.get("error"))))

    async def command(self, kind: str, limit_s: float = 60, **data: Any) -> Any:
        """Send one command; its result."""
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        await self.socket.send_json({"id": ident, "type": kind, **data})
        async with asyncio.timeout(limit_s):
            return await future

    async def subscribe(
        self,
        kind: str,
        handler: Callable[[dict[str, Any], float], None],
        **data: Any,
    ) -> int:
        """Subscribe; `handler(event, received_at)` for each event."""
        ident = next(self._ids)
        self._subscriptions[ident] = handler
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        await self.socket.send_json({"id": ident, "type": kind, **data})
        async with asyncio.timeout(60):
            await future
        return ident
