"""`python -m simulator`: emulated Q.rads and the operator's cloud, until Ctrl-C.

By default the cloud runs here too: an embedded MQTT broker and the compute
controller. `--broker mqtt[s]://host:port` uses an external broker instead
(with a controller started elsewhere, e.g. `python -m simulator.cloud`), and
`--no-cloud` leaves the units on their local thermostats.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import timedelta
import logging
from pathlib import Path
import signal
import tempfile

from .cloud.endpoint import BrokerEndpoint
from .cloud.options import add_policy_arguments
from .cloud.service import CloudService
from .cloud.trace import Trace
from .cloud.urls import parse_broker_url
from .fleet import Fleet, FleetConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument(
        "--count", type=int, default=3, help="number of Q.rads (default 3)"
    )
    parser.add_argument(
        "--base-port", type=int, default=8080, help="first port (default 8080)"
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="time acceleration, e.g. 60"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of identities and rooms"
    )
    parser.add_argument(
        "--auto-pair", action="store_true", help="pairing window always open (demos)"
    )
    parser.add_argument(
        "--no-announce", action="store_true", help="do not announce over mDNS"
    )
    parser.add_argument(
        "--household",
        action="store_true",
        help="Wi-Fi clients and phones come and go by themselves (demos)",
    )
    parser.add_argument(
        "--accounts", type=int, default=1, help="homeowner accounts (default 1)"
    )
    parser.add_argument(
        "--broker",
        help="external broker, mqtt://host:port or mqtts://host:port "
        "(default: an embedded broker and controller)",
    )
    parser.add_argument("--broker-ca", help="CA file of an mqtts:// broker")
    parser.add_argument(
        "--broker-port", type=int, default=1883, help="embedded broker port"
    )
    parser.add_argument(
        "--no-cloud", action="store_true", help="no cloud: local thermostats only"
    )
    parser.add_argument(
        "--time-origin",
        type=float,
        help="Unix time where simulated and real time meet (share it with a "
        "controller started apart)",
    )
    parser.add_argument(
        "--directory-file",
        type=Path,
        help="write the accounts, units and secrets there (JSON)",
    )
    parser.add_argument(
        "--history-days",
        type=float,
        default=0,
        help="each Q.rad starts with that many days of its past lived: its "
        "meters hold them and GET /_emulator/history serves them (demos)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="each Q.rad keeps its tokens, name, settings and meters there "
        "across restarts, as a real one keeps them in its flash",
    )
    add_policy_arguments(parser)
    return parser.parse_args(argv)


async def run(config: FleetConfig, args: argparse.Namespace) -> None:
    """Start the cloud and the fleet, print how to reach them, run until a signal."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    fleet = Fleet(config)
    cloud = None
    if config.cloud is not None and not args.broker:
        workdir = Path(tempfile.mkdtemp(prefix="qrad-cloud-"))
        cloud = CloudService(
            fleet.directory,
            fleet.clock,
            workdir,
            host=config.cloud.host,
            port=config.cloud.port,
            # The operator has accounted the units' past as their meters did.
            books_from_meter=args.books_from_meter or bool(config.past),
            policy=args.policy,
            trace=Trace.load(args.trace) if args.trace else None,
        )
        await cloud.start()
        print(f"Cloud broker {config.cloud.url}; accounts:", flush=True)
        for account, secret in fleet.directory.accounts.items():
            print(f"  account {account}  secret {secret}", flush=True)
    try:
        await _serve(fleet, stop, args.directory_file)
    finally:
        if cloud is not None:
            await cloud.stop()


async def _serve(fleet: Fleet, stop: asyncio.Event, directory: Path | None) -> None:
    async with fleet:
        # Written once the units listen and have announced themselves, so that
        # waiting for this file means waiting for a ready fleet.
        if directory is not None:
            fleet.directory.save(directory)
        for unit in fleet.units:
            identity = unit.unit.identity
            print(
                f"{unit.unit.name:<16} {identity.serial}  http://{unit.host}:{unit.port}/api/v1",
                flush=True,
            )
        first = fleet.units[0]
        print(
            f"\nPair: curl -X POST http://{first.host}:{first.port}/_emulator/button; "
            f'curl -X POST -d \'{{"client_name": "me"}}\' http://{first.host}:{first.port}/api/v1/pairing',
            flush=True,
        )
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # amqtt logs every packet and state transition at INFO.
    for chatty in ("amqtt", "transitions"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    cloud: BrokerEndpoint | None = None
    if args.broker:
        cloud = parse_broker_url(args.broker, args.broker_ca)
    elif not args.no_cloud:
        cloud = BrokerEndpoint(host="127.0.0.1", port=args.broker_port)
    config = FleetConfig(
        count=args.count,
        base_port=args.base_port,
        speed=args.speed,
        seed=args.seed,
        auto_pair=args.auto_pair,
        announce=not args.no_announce,
        household=args.household,
        accounts=args.accounts,
        cloud=cloud,
        time_origin=args.time_origin,
        past=timedelta(days=args.history_days),
        state_dir=args.state_dir,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(config, args))


if __name__ == "__main__":
    main()
