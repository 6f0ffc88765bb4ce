"""Many emulated Q.rads in one process: one clock, one tick, one mDNS responder.

Inside the emulated LAN (scripts/_enter exports QRAD_LAN_POOL and
QRAD_LAN_MDNS_IP) each unit gets its own address from the pool, as at home;
elsewhere every unit listens on 127.0.0.1 with its own port, and mDNS is bound
to 127.0.0.1 so that nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
from collections import deque
import contextlib
from dataclasses import dataclass
from datetime import timedelta
import ipaddress
import logging
import os
from pathlib import Path
import socket
import time
from typing import Self

from zeroconf import IPVersion, NotRunningException
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from .clock import Clock
from .cloud.access import Directory
from .cloud.endpoint import BrokerEndpoint
from .device.cloudlink import UnitCloudLink
from .device.flash import flash_path, restore, save
from .device.history import live_past
from .device.server import UnitServer, free_port
from .device.unit import API_VERSION, QradUnitModel
from .identity import make_identities

LOGGER = logging.getLogger(__name__)

SERVICE_TYPE = "_qrad._tcp.local."
TICK_S = 1.0
# The units of a fleet push in this many groups spread over each tick.
PUSH_GROUPS = 10
LOOPBACK = "127.0.0.1"
# Ticks whose duration the fleet remembers (benchmarks read them).
TICKS_KEPT = 3600
# How often, in real seconds, units with a state folder write their state.
SAVE_S = 30.0


@dataclass(frozen=True, kw_only=True)
class FleetConfig:
    """How many units, where, and how fast their time runs."""

    count: int = 3
    base_port: int = 8080
    speed: float = 1.0
    seed: int = 1
    auto_pair: bool = False
    # Wi-Fi clients and phones come and go by themselves (the demo).
    household: bool = False
    announce: bool = True
    accounts: int = 1
    cloud: BrokerEndpoint | None = None
    time_origin: float | None = None
    # Each unit starts with this much of its past lived (history.live_past).
    past: timedelta = timedelta(0)
    # Where the units keep their state across restarts (device/flash.py).
    state_dir: Path | None = None


def lan_pool() -> list[str]:
    """Unit addresses of the emulated LAN, or none outside it."""
    if not (pool := os.environ.get("QRAD_LAN_POOL")):
        return []
    return [str(address) for address in ipaddress.ip_network(pool).hosts()]


def mdns_address() -> str:
    """Where the fleet's mDNS responder listens."""
    return os.environ.get("QRAD_LAN_MDNS_IP", LOOPBACK)


class Fleet:
    """The emulated units, started and stopped together."""

    def __init__(self, config: FleetConfig) -> None:
        """Create the units' models and servers (nothing listens yet)."""
        self.config = config
        self.clock = Clock(config.speed, config.time_origin)
        self._pool = lan_pool()
        if self._pool and config.count > len(self._pool):
            raise ValueError(
                f"the LAN has room for {len(self._pool)} units, not {config.count}"
            )
        identities = make_identities(config.count, config.seed, config.accounts)
        self.directory = Directory.for_fleet(identities, config.seed)
        self.units: list[UnitServer] = []
        self.cloud_links: list[UnitCloudLink] = []
        for index, identity in enumerate(identities):
            model = QradUnitModel(identity=identity, clock=self.clock, seed=config.seed)
            model.household.lively = config.household
            if config.cloud is not None:
                model.cloud.broker_url = config.cloud.url
                self.cloud_links.append(UnitCloudLink(model, config.cloud))
            host, port = self._address(index)
            server = UnitServer(model, host, port, auto_pair=config.auto_pair)
            past = config.past
            if config.state_dir is not None:
                path = flash_path(config.state_dir, identity.serial)
                if (saved_at := restore(server, path)) is not None:
                    # It ran on, unobserved, since it was stopped (no longer
                    # than a past is asked for).
                    past = min(past, max(self.clock.now() - saved_at, timedelta(0)))
            if past:
                server.emulator.past = live_past(model, past)
            server.on_moved = self._reannounce
            server.on_renamed = self._reannounce
            server.free_address = self.free_address
            self.units.append(server)
        self._zeroconf: AsyncZeroconf | None = None
        self._infos: dict[str, AsyncServiceInfo] = {}
        self._tick: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None
        # Real seconds each tick took (step every unit, push the changes): the
        # fleet keeps up while they stay under TICK_S.
        self.tick_seconds: deque[float] = deque(maxlen=TICKS_KEPT)

    def _address(self, index: int) -> tuple[str, int]:
        if self._pool:
            return self._pool[index], self.config.base_port
        return LOOPBACK, self.config.base_port + index

    def free_address(self) -> tuple[str, int]:
        """An address no unit uses: another of the LAN, or another loopback port."""
        used = {(unit.host, unit.port) for unit in self.units}
        if self._pool:
            host = next(h for h in self._pool if (h, self.config.base_port) not in used)
            return host, self.config.base_port
        return LOOPBACK, free_port(LOOPBACK)

    def unit(self, serial: str) -> UnitServer:
        """The unit with that serial."""
        return next(unit for unit in self.units if unit.unit.identity.serial == serial)

    async def __aenter__(self) -> Self:
        """Start every unit."""
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        """Stop every unit."""
        await self.stop()

    async def start(self) -> None:
        """Listen, announce, and start the simulation."""
        await asyncio.gather(*(unit.start() for unit in self.units))
        await asyncio.gather(*(link.start() for link in self.cloud_links))
        if self.config.announce:
            self._zeroconf = AsyncZeroconf(
                interfaces=[mdns_address()], ip_version=IPVersion.V4Only
            )
            await asyncio.gather(*(self._announce(unit) for unit in self.units))
        self._tick = asyncio.create_task(self._run())
        if self.config.state_dir is not None:
            self._keeper = asyncio.create_task(self._keep(self.config.state_dir))

    async def stop(self) -> None:
        """Say goodbye over mDNS and stop every unit (their state saved last)."""
        for task in (self._tick, self._keeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tick = self._keeper = None
        if self.config.state_dir is not None:
            self.save(self.config.state_dir)
        await asyncio.gather(*(link.stop() for link in self.cloud_links))
        await asyncio.gather(*(unit.stop() for unit in self.units))
        if self._zeroconf is not None:
            # Goodbye packets; a responder already shut down has nothing to say.
            with contextlib.suppress(NotRunningException):
                await self._zeroconf.async_unregister_all_services()
            await self._zeroconf.async_close()
            self._zeroconf = None

    def save(self, folder: Path) -> None:
        """Write every unit's state into `folder`."""
        moment = self.clock.now()
        for unit in self.units:
            save(unit, flash_path(folder, unit.unit.identity.serial), moment)

    async def _keep(self, folder: Path) -> None:
        """Save now and then: a killed emulator loses at most SAVE_S of meters."""
        while True:
            await asyncio.sleep(SAVE_S)
            self.save(folder)

    def _service_info(self, unit: UnitServer) -> AsyncServiceInfo:
        model = unit.unit
        serial = model.identity.serial
        return AsyncServiceInfo(
            SERVICE_TYPE,
            f"{model.name}.{SERVICE_TYPE}",
            addresses=[socket.inet_aton(unit.host)],
            port=unit.port,
            server=f"qrad-{serial.lower()}.local.",
            properties={
                "serial": serial,
                "model": model.identity.model,
                "fw": model.identity.firmware,
                "api": str(API_VERSION),
                "mac": model.identity.mac,
                "name": model.name,
                "path": "/api/v1",
            },
        )

    async def _announce(self, unit: UnitServer) -> None:
        assert self._zeroconf is not None
        info = self._service_info(unit)
        self._infos[unit.unit.identity.serial] = info
        broadcast = await self._zeroconf.async_register_service(
            info, allow_name_change=True
        )
        await broadcast

    async def _reannounce(self, unit: UnitServer) -> None:
        """Announce a unit's new address, port or name under the same serial."""
        if self._zeroconf is None:
            return
        info = self._service_info(unit)
        info.name = self._infos[unit.unit.identity.serial].name
        self._infos[unit.unit.identity.serial] = info
        await (await self._zeroconf.async_update_service(info))

    async def _run(self) -> None:
        """Advance every unit each second; push what changed, spread over the second.

        Real Q.rads each keep their own clock, so their pushes arrive spread
        over the second, never all in the same millisecond: the units push in
        PUSH_GROUPS groups, each at its own offset in the tick.
        """
        loop = asyncio.get_running_loop()
        last = self.clock.monotonic()
        tick_start = loop.time()
        while True:
            # A late tick starts now: an overloaded fleet never bunches ticks.
            tick_start = max(tick_start + TICK_S, loop.time())
            await asyncio.sleep(tick_start - loop.time())
            began = time.perf_counter()
            now = self.clock.monotonic()
            step = now - last
            last = now
            for unit in self.units:
                unit.unit.step(step)
            work = time.perf_counter() - began
            for group in range(PUSH_GROUPS):
                at = tick_start + group * TICK_S / PUSH_GROUPS
                await asyncio.sleep(max(at - loop.time(), 0.0))
                began = time.perf_counter()
                # One after the other, not gathered: a push only waits when a
                # stream's buffer is full, and a task per unit per tick cost
                # more than the push itself.
                for unit in self.units[group::PUSH_GROUPS]:
                    await unit.publish()
                work += time.perf_counter() - began
            self.tick_seconds.append(work)
