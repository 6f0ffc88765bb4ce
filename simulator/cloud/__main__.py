"""`python -m simulator.cloud`: the compute controller on its own, until Ctrl-C.

It reads the operator's registry (`python -m simulator --directory-file`) and
serves it through an external broker (`--broker`), or through an embedded one.
Give it the fleet's `--speed` and `--time-origin` so both agree on the time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path
import signal
import tempfile

from simulator.clock import Clock

from .access import Directory
from .options import add_policy_arguments
from .scheduler import DEFAULT_TARIFF_EUR_PER_KWH
from .service import CloudService
from .trace import Trace
from .urls import parse_broker_url


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator.cloud", description=__doc__
    )
    parser.add_argument("--directory", type=Path, required=True, help="registry JSON")
    parser.add_argument("--broker", help="mqtt://host:port or mqtts://host:port")
    parser.add_argument("--broker-ca", help="CA file of an mqtts:// broker")
    parser.add_argument("--broker-port", type=int, default=1883)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--time-origin", type=float)
    parser.add_argument(
        "--tariff", type=float, default=DEFAULT_TARIFF_EUR_PER_KWH, help="EUR/kWh"
    )
    add_policy_arguments(parser)
    parser.add_argument(
        "--worker", type=int, default=1, help="this worker's number (client id)"
    )
    parser.add_argument(
        "--shared-group",
        help="share the fleet with other workers of this MQTT 5 shared "
        "subscription group (needs --broker; docs/scaling.md)",
    )
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    """Serve until a signal."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    external = parse_broker_url(args.broker, args.broker_ca) if args.broker else None
    cloud = CloudService(
        Directory.load(args.directory),
        Clock(args.speed, args.time_origin),
        Path(tempfile.mkdtemp(prefix="qrad-cloud-")),
        external=external,
        port=args.broker_port,
        tariff_eur_per_kwh=args.tariff,
        books_from_meter=args.books_from_meter,
        policy=args.policy,
        trace=Trace.load(args.trace) if args.trace else None,
        worker=args.worker,
        shared_group=args.shared_group,
    )
    await cloud.start()
    try:
        await stop.wait()
    finally:
        await cloud.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # amqtt logs every packet and state transition at INFO.
    for chatty in ("amqtt", "transitions"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
