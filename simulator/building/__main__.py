"""`python -m simulator.building`: both policies over a building, side by side.

    python -m simulator.building --days 1 --seed 1 --plot docs/building-day.png

346 Q.rads in 50 flats over a winter day (or `--days 7`), simulated time, no
sockets: the Scheduler and the rooms' thermal models run in-process, one
process per policy. Prints the comparison table (Markdown) and writes a plot
of a few rooms under each policy.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
import sys
import time

from simulator.cloud.trace import Trace, generate

from .report import plot, table
from .run import Result, simulate
from .scenario import FLATS, QRADS, building

POLICIES = ("threshold", "predictive")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator.building", description=__doc__
    )
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--qrads", type=int, default=QRADS)
    parser.add_argument("--flats", type=int, default=FLATS)
    parser.add_argument("--high-load", type=float, default=0.2)
    parser.add_argument("--low-load", type=float, default=0.3)
    parser.add_argument("--trace", type=Path, help="replay this job trace")
    parser.add_argument("--save-trace", type=Path, help="write the trace used")
    parser.add_argument("--plot", type=Path, help="write the PNG plot there")
    parser.add_argument(
        "--processes", type=int, default=2, help="policies run in parallel"
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> list[Result]:
    """Both policies over the same building and trace."""
    rooms = building(args.seed, args.flats, args.qrads)
    trace = (
        Trace.load(args.trace)
        if args.trace
        else generate(
            args.seed,
            qrads=len(rooms),
            duration_s=args.days * 86_400,
            high_load=args.high_load,
            low_load=args.low_load,
        )
    )
    if args.save_trace:
        trace.save(args.save_trace)
    flats = sorted({room.flat.schedule: room for room in rooms}.values(), key=str)
    plotted = tuple(room.serial for room in flats)
    options = {"days": args.days, "seed": args.seed, "plotted": plotted}
    if args.processes > 1:
        with ProcessPoolExecutor(max_workers=args.processes) as pool:
            futures = [
                pool.submit(simulate, policy, rooms, trace, **options)
                for policy in POLICIES
            ]
            return [future.result() for future in futures]
    return [simulate(policy, rooms, trace, **options) for policy in POLICIES]


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    began = time.monotonic()
    results = run(args)
    sys.stdout.write(table(results) + "\n")
    sys.stdout.write(f"\n({time.monotonic() - began:.0f} s)\n")
    if args.plot:
        plot(results, args.plot)
        sys.stdout.write(f"plot: {args.plot}\n")


if __name__ == "__main__":
    main()
