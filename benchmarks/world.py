"""The benchmark's world, in its own process: what Home Assistant talks to.

    python -m benchmarks.world --count N --workdir DIR --control-port PORT

Runs N emulated Q.rads (`simulator.fleet`, at speed 1 unless told otherwise,
not announced), mosquitto and the cloud compute controller (`pi` policy), and a
*floor server*: a bare WebSocket endpoint that sends frames shaped like a
Q.rad's `update`. The fleet and the controller share this process and its
event loop, as in `python -m simulator`; mosquitto is its child.

A small HTTP API on 127.0.0.1:PORT lets the benchmark act and read back:

- `POST /push {"index", "value"}`: force unit `index`'s room temperature to
  `value` and push the change at once; answers the wall-clock time it was sent;
- `POST /floor {"value"}`: the same frame from the floor server;
- `GET /marks`: (and forget) when units applied thermostat writes and when the
  controller received setpoints (wall clock);
- `GET /ticks?reset=1`: the fleet's tick durations and the controller's work
  per control period since the last reset;
- `GET /streams`: how many event streams each unit has open.

When ready it writes `world.json` in DIR (units, addresses, accounts, floor
URL, broker) and prints `ready`.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Mapping
import contextlib
from dataclasses import dataclass, field
import json
import logging
import os
from pathlib import Path
import signal
import socket as sockets
import sys
import time
from typing import Any

from aiohttp import web

from simulator.clock import Clock
from simulator.cloud.endpoint import BrokerEndpoint
from simulator.cloud.mosquitto import Mosquitto
from simulator.cloud.service import CloudService
from simulator.device.server import UnitServer
from simulator.fleet import Fleet, FleetConfig, lan_pool
from simulator.testing import free_port

LOGGER = logging.getLogger(__name__)
UNIT_PORT = 8080
LOOPBACK_PORTS_FROM = 20000


class PeriodClock(Clock):
    """The controller's clock: also records how long each control period's work took."""

    def __init__(self, speed: float, origin: float) -> None:
        """Same time as the fleet's clock."""
        super().__init__(speed, origin)
        self.work_seconds: list[float] = []
        self._woke: float | None = None

    async def sleep(self, simulated_seconds: float) -> None:
        """The controller sleeps once per period, after that period's work."""
        if self._woke is not None:
            self.work_seconds.append(time.perf_counter() - self._woke)
        await super().sleep(simulated_seconds)
        self._woke = time.perf_counter()


@dataclass
class FloorServer:
    """The floor's sender: one WebSocket endpoint, frames like a unit's updates."""

    host: str
    port: int
    sockets: dict[web.WebSocketResponse, int] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Where the probe in Home Assistant connects."""
        return f"ws://{self.host}:{self.port}/events"

    async def start(self) -> None:
        """Listen."""
        app = web.Application()
        app.add_routes([web.get("/events", self._events)])
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        """Close the streams and stop listening."""
        for socket in list(self.sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def send(self, value: float) -> None:
        """One frame to every stream, as a unit sends an update."""
        for socket, seq in list(self.sockets.items()):
            self.sockets[socket] = seq + 1
            frame = {
                "type": "update",
                "changes": {"sensors": {"temperature": value}},
                "seq": seq + 1,
            }
            await socket.send_str(json.dumps(frame))

    async def _events(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets[socket] = 0
        try:
            async for _message in socket:
                pass
        finally:
            self.sockets.pop(socket, None)
        return socket


@dataclass
class World:
    """Everything this process runs, and what it recorded."""

    fleet: Fleet
    floor: FloorServer
    clock: PeriodClock
    marks: list[dict[str, Any]] = field(default_factory=list)
    # The units the controller has published a status of.
    spoken_of: set[str] = field(default_factory=set)

    def instrument(self, cloud: CloudService | None) -> None:
        """Record when units apply thermostat writes and the controller setpoints."""
        for server in self.fleet.units:
            self._instrument_unit(server)
        if cloud is not None:
            scheduler = cloud.controller.scheduler
            original = scheduler.apply_setpoint
            controller = cloud.controller
            status_payload = controller._status_payload  # noqa: SLF001

            def status(serial: str, fields: dict[str, object]) -> str:
                self.spoken_of.add(serial)
                return status_payload(serial, fields)

            controller._status_payload = status  # type: ignore[method-assign,assignment]  # noqa: SLF001

            def apply_setpoint(account: str, setpoint: Any) -> Any:
                outcome = original(account, setpoint)
                self.marks.append(
                    {
                        "kind": "cloud",
                        "serial": setpoint.serial,
                        "target": setpoint.target_temperature,
                        "seq": setpoint.seq,
                        "outcome": str(outcome),
                        "at": time.time(),
                    }
                )
                return outcome

            scheduler.apply_setpoint = apply_setpoint  # type: ignore[method-assign]

    def _instrument_unit(self, server: UnitServer) -> None:
        model = server.unit
        original: Callable[[Mapping[str, Any]], None] = model.patch_thermostat
        serial = model.identity.serial

        def patch_thermostat(body: Mapping[str, Any]) -> None:
            original(body)
            self.marks.append(
                {
                    "kind": "unit",
                    "serial": serial,
                    "target": body.get("target_temperature"),
                    "at": time.time(),
                }
            )

        model.patch_thermostat = patch_thermostat  # type: ignore[method-assign]

    def routes(self) -> list[web.RouteDef]:
        """The benchmark's control API."""
        return [
            web.post("/push", self._push),
            web.post("/floor", self._floor),
            web.get("/marks", self._marks),
            web.get("/ticks", self._ticks),
            web.get("/streams", self._streams),
            web.get("/spoken", self._spoken),
        ]

    async def _push(self, request: web.Request) -> web.Response:
        body = await request.json()
        server = self.fleet.units[int(body["index"])]
        server.unit.room.temperature = float(body["value"])
        sent_at = time.time()
        await server.publish()
        return web.json_response(
            {"sent_at": sent_at, "serial": server.unit.identity.serial}
        )

    async def _floor(self, request: web.Request) -> web.Response:
        body = await request.json()
        sent_at = time.time()
        await self.floor.send(float(body["value"]))
        return web.json_response({"sent_at": sent_at})

    async def _marks(self, _request: web.Request) -> web.Response:
        marks, self.marks = self.marks, []
        return web.json_response({"marks": marks})

    async def _ticks(self, request: web.Request) -> web.Response:
        ticks = list(self.fleet.tick_seconds)
        periods = list(self.clock.work_seconds)
        if request.query.get("reset"):
            self.fleet.tick_seconds.clear()
            self.clock.work_seconds.clear()
        return web.json_response({"ticks": ticks, "periods": periods})

    async def _spoken(self, _request: web.Request) -> web.Response:
        return web.json_response({"units": len(self.spoken_of)})

    async def _streams(self, _request: web.Request) -> web.Response:
        counts = [len(server._subscribers) for server in self.fleet.units]  # noqa: SLF001
        return web.json_response({"streams": counts})


def _loopback_ports(count: int) -> int:
    """The first of `count` free consecutive ports below the ephemeral range.

    Below it, no outgoing connection (the units' MQTT links, say) can take one
    of them between this choice and the moment the units listen.
    """
    for base in range(LOOPBACK_PORTS_FROM, 32768 - count, 500):
        ports = range(base, base + count)
        if all(_bindable(port) for port in ports):
            return base
    raise RuntimeError(f"no {count} consecutive free ports below 32768")


def _bindable(port: int) -> bool:
    with sockets.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def run(args: argparse.Namespace) -> None:
    """Start everything, write world.json, serve until SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    workdir: Path = args.workdir
    pool = lan_pool()
    origin = time.time()
    endpoint = None
    if args.cloud:
        endpoint = BrokerEndpoint(host="127.0.0.1", port=free_port())
    base_port = UNIT_PORT if pool else _loopback_ports(args.count + 1)
    fleet = Fleet(
        FleetConfig(
            count=args.count,
            base_port=base_port,
            speed=args.speed,
            seed=args.seed,
            announce=False,
            cloud=endpoint,
            time_origin=origin,
        )
    )
    floor_host, floor_port = (
        (pool[args.count], UNIT_PORT) if pool else ("127.0.0.1", base_port + args.count)
    )
    clock = PeriodClock(args.speed, origin)
    world = World(fleet=fleet, floor=FloorServer(floor_host, floor_port), clock=clock)
    # Listen first: the port was chosen free by the benchmark, and the units'
    # outgoing MQTT connections could otherwise take it as their own port.
    control = web.AppRunner(web.Application(), handle_signals=False, access_log=None)
    control.app.add_routes(world.routes())
    await control.setup()
    await web.TCPSite(control, "127.0.0.1", args.control_port).start()
    broker = cloud = None
    if endpoint is not None:
        broker = Mosquitto(fleet.directory, workdir / "mosquitto", port=endpoint.port)
        await broker.start()
        cloud = CloudService(fleet.directory, clock, workdir, external=endpoint)
        await cloud.start()
    world.instrument(cloud)
    try:
        await fleet.start()
        await world.floor.start()
        description = {
            "pid": os.getpid(),
            "units": [
                {
                    "serial": server.unit.identity.serial,
                    "name": server.unit.name,
                    "host": server.host,
                    "port": server.port,
                    "account": server.unit.identity.account,
                }
                for server in fleet.units
            ],
            "accounts": fleet.directory.accounts,
            "broker": endpoint.url if endpoint else None,
            "floor_url": world.floor.url,
        }
        (workdir / "world.json").write_text(json.dumps(description))
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await control.cleanup()
        await world.floor.stop()
        await fleet.stop()
        if cloud is not None:
            await cloud.stop()
        if broker is not None:
            await broker.stop()


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--no-cloud", dest="cloud", action="store_false")
    parser.add_argument(
        "--loopback", action="store_true", help="units on 127.0.0.1, not the LAN"
    )
    args = parser.parse_args()
    if args.loopback:
        os.environ.pop("QRAD_LAN_POOL", None)
    args.workdir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
