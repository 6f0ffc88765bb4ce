"""Telemetry messages per second that shared controller workers handle on mosquitto.

    python benchmarks/shared_workers.py --units 100 --workers 1 2 --seconds 10

Starts mosquitto with a registry of `--units` Q.rads, `--workers` controller
workers in one shared subscription group (each its own MQTT 5 session, in this
process), and one MQTT client per Q.rad publishing telemetry as fast as the
broker takes it. Each handled telemetry message is a full step of the `pi`
loop: parse, account, plan, and publish a control and a status (QoS 1,
retained). Prints the handled rate per worker and in all. Everything runs on
this machine's cores, broker and publishers included: the figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.clock import Clock  # noqa: E402
from simulator.cloud.access import Directory  # noqa: E402
from simulator.cloud.controller import Controller  # noqa: E402
from simulator.cloud.link import make_client  # noqa: E402
from simulator.cloud.mosquitto import Mosquitto  # noqa: E402
from simulator.identity import make_identities  # noqa: E402
from simulator.testing import free_port  # noqa: E402


async def publish(
    directory: Directory, serial: str, port: int, stop: asyncio.Event
) -> int:
    """Telemetry of one Q.rad, as fast as it goes, until `stop`."""
    _, secret = directory.units[serial]
    endpoint = Mosquitto(directory, Path(tempfile.gettempdir()), port=port).endpoint
    sent = 0
    base = datetime(2026, 1, 1, tzinfo=UTC)
    async with make_client(
        endpoint, username=serial, password=secret, identifier=f"qrad-{serial}"
    ) as client:
        while not stop.is_set():
            sent += 1
            stamp = (base + timedelta(milliseconds=sent)).isoformat(
                timespec="milliseconds"
            )
            await client.publish(
                f"qrad/v1/dev/{serial}/telemetry",
                json.dumps(
                    {
                        "serial": serial,
                        "room_temperature": 19.0,
                        "target_temperature": 20.0,
                        "hvac_mode": "heat",
                        "power_w": 300.0,
                        "power_limit_w": 500.0,
                        "energy_kwh": sent / 1000,
                        "compute_tflop": 0.0,
                        "control": "cloud",
                        "timestamp": stamp.replace("+00:00", "Z"),
                    }
                ),
                qos=0,
            )
            await asyncio.sleep(0.005)
    return sent


async def measure(
    units: int, workers: int, seconds: float
) -> tuple[list[float], float]:
    """Handled telemetry per second, per worker, and offered in all."""
    identities = make_identities(units, 1, max(units // 7, 1))
    directory = Directory.for_fleet(identities, 1)
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        broker = Mosquitto(directory, Path(workdir), port=port)
        await broker.start()
        controllers = [
            Controller(
                directory,
                broker.endpoint,
                Clock(),
                worker=n,
                shared_group="controllers",
            )
            for n in range(1, workers + 1)
        ]
        for controller in controllers:
            await controller.start()
            await asyncio.wait_for(controller.connected.wait(), 20)
        feeder = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--feed", str(units), str(port), str(seconds + 4)
        )
        await asyncio.sleep(2)  # connect and warm up
        before = [c.telemetry_handled for c in controllers]
        began = time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - began
        rates = [
            (c.telemetry_handled - b) / elapsed
            for c, b in zip(controllers, before, strict=True)
        ]
        await feeder.wait()
        record = Path(tempfile.gettempdir()) / f"offered-{port}"
        offered = float(record.read_text()) if record.exists() else 0.0
        for controller in controllers:
            await controller.stop()
        await broker.stop()
    return rates, offered


async def feed(units: int, port: int, seconds: float, out: Path) -> None:
    """The Q.rads' side, in its own process."""
    identities = make_identities(units, 1, max(units // 7, 1))
    directory = Directory.for_fleet(identities, 1)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(publish(directory, identity.serial, port, stop))
        for identity in identities
    ]
    await asyncio.sleep(seconds)
    stop.set()
    offered = sum(await asyncio.gather(*tasks)) / seconds
    await asyncio.to_thread(out.write_text, str(offered))


def main() -> None:
    """Entry point."""
    if sys.argv[1:2] == ["--feed"]:
        units, port, seconds = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        asyncio.run(
            feed(units, port, seconds, Path(tempfile.gettempdir()) / f"offered-{port}")
        )
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    for workers in args.workers:
        rates, offered = asyncio.run(measure(args.units, workers, args.seconds))
        per = ", ".join(f"{rate:.0f}" for rate in rates)
        sys.stdout.write(
            f"{workers} worker(s), {args.units} Q.rads: handled {sum(rates):.0f} msg/s "
            f"(per worker: {per}); offered about {offered:.0f} msg/s\n"
        )


if __name__ == "__main__":
    main()
