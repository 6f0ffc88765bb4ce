"""`python -m simulator.building`: the policies over a building, side by side.

    python -m simulator.building --weather january --seed 1 --days 7 --plot week.png

346 Q.rads in 50 flats over simulated days, no sockets: the Scheduler and the
rooms' thermal models run in-process, one process per variant. The variants:
`threshold` (the operator's policy), `threshold` told each comfort setpoint a
fixed time early (a timer's early start), and `predictive` given the flats'
plans. Prints the comparison (Markdown) after the first day and at the end,
the targets of issue 20, one line per variant for the docs' table, and writes
a plot of a few rooms under each variant.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path
import sys
import time

from simulator.cloud.trace import Trace, generate

from .report import (
    COMPACT_HEADER,
    beyond_the_cap,
    compact,
    plot,
    table,
    targets_table,
)
from .run import Result, Variant, simulate
from .scenario import FLATS, QRADS, RoomSpec, building
from .weather import PROFILES, HourlyWeather, WeatherFileError, weather_for

# A timer's early start: the median time `threshold` took to reach a raised
# setpoint on the published day (160 min), rounded down to whole hours.
EARLY_START = timedelta(hours=2)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator.building", description=__doc__
    )
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weather", choices=sorted(PROFILES), default="january")
    parser.add_argument(
        "--weather-file",
        type=Path,
        help="CSV of hourly outdoor temperatures ('hour,outdoor_c'), instead",
    )
    parser.add_argument(
        "--early-start-min",
        type=float,
        default=EARLY_START.total_seconds() / 60,
        help="how early the timer variant raises each comfort setpoint",
    )
    parser.add_argument("--qrads", type=int, default=QRADS)
    parser.add_argument("--flats", type=int, default=FLATS)
    parser.add_argument("--high-load", type=float, default=0.2)
    parser.add_argument("--low-load", type=float, default=0.3)
    parser.add_argument("--trace", type=Path, help="replay this job trace")
    parser.add_argument("--save-trace", type=Path, help="write the trace used")
    parser.add_argument("--plot", type=Path, help="write the PNG plot there")
    parser.add_argument(
        "--processes", type=int, default=2, help="variants run in parallel"
    )
    return parser.parse_args(argv)


def variants(early_start: timedelta) -> tuple[Variant, ...]:
    """What is compared: the baseline, a timer's early start, and plans."""
    hours = early_start.total_seconds() / 3600
    return (
        Variant(name="threshold", policy="threshold"),
        Variant(
            name=f"threshold, {hours:g} h early",
            policy="threshold",
            early_start=early_start,
        ),
        Variant(name="predictive, plans", policy="predictive", plans=True),
    )


def run(args: argparse.Namespace, rooms: list[RoomSpec]) -> list[list[Result]]:
    """Every variant over the same rooms, weather and trace: each one's results."""
    weather = weather_for(args.weather, args.seed, args.weather_file)
    if isinstance(weather, HourlyWeather):
        weather.check_covers(args.days)
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
    options = {
        "days": args.days,
        "weather": weather,
        "seed": args.seed,
        "plotted": tuple(room.serial for room in flats),
        "checkpoints": (1.0,),
    }
    compared = variants(timedelta(minutes=args.early_start_min))
    if args.processes > 1:
        with ProcessPoolExecutor(max_workers=args.processes) as pool:
            futures = [
                pool.submit(simulate, variant, rooms, trace, **options)
                for variant in compared
            ]
            return [future.result() for future in futures]
    return [simulate(variant, rooms, trace, **options) for variant in compared]


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    began = time.monotonic()
    rooms = building(args.seed, args.flats, args.qrads)
    try:
        per_variant = run(args, rooms)
    except WeatherFileError as err:
        sys.exit(f"error: {err}")
    weather = args.weather_file.stem if args.weather_file else args.weather
    lines = []
    for span in zip(*per_variant, strict=True):
        results = list(span)
        lines += [table(results), "", targets_table(results[0], results[-1]), ""]
        lines += [beyond_the_cap(results[-1], rooms), ""]
    lines += [COMPACT_HEADER]
    lines += [
        compact(list(span), weather, args.seed)
        for span in zip(*per_variant, strict=True)
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.write(f"\n({time.monotonic() - began:.0f} s)\n")
    if args.plot:
        plot([results[-1] for results in per_variant], args.plot)
        sys.stdout.write(f"plot: {args.plot}\n")


if __name__ == "__main__":
    main()
