"""`python -m simulator`: run a fleet of emulated Q.rads until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

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
    return parser.parse_args(argv)


async def run(config: FleetConfig) -> None:
    """Start the fleet, print how to reach it, run until a signal."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Fleet(config) as fleet:
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
    config = FleetConfig(
        count=args.count,
        base_port=args.base_port,
        speed=args.speed,
        seed=args.seed,
        auto_pair=args.auto_pair,
        announce=not args.no_announce,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(config))


if __name__ == "__main__":
    main()
