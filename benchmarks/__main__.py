"""`python -m benchmarks`: qrad at building scale, measured against the floor.

Run through `scripts/bench` (inside the emulated LAN). For Home Assistant alone
(the baseline) and each fleet size it measures setup, memory, steady-state CPU
and event-loop stalls, push latency beside the floor, and the setpoint round
trip; then the emulator's capacity. Writes benchmarks/results/latest.json,
latest.md and latest.png, and prints the tables. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
import json
import logging
import os
from pathlib import Path
import shutil
import signal
import sys
import time
from typing import Any

from .capacity import measure_capacity
from .hass import REPO
from .report import derive, markdown, plot
from .run import Options, measure_size
from .stats import machine

RESULTS = Path(__file__).resolve().parent / "results"


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[1, 20, 346, 1000],
        help="fleet sizes, comma-separated (default 1,20,346,1000)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure each size this many times in a row, all reported (default 1)",
    )
    parser.add_argument(
        "--capacity-sizes",
        type=_sizes,
        default=[346, 1000, 2000],
        help="emulator-only counts ('' to skip; default 346,1000,2000)",
    )
    parser.add_argument(
        "--push-samples",
        type=int,
        default=150,
        help="push probes per kind (Q.rad, floor) for small fleets (default 150)",
    )
    parser.add_argument(
        "--setpoint-samples", type=int, default=100, help="setpoint calls (default 100)"
    )
    parser.add_argument(
        "--window", type=float, default=30.0, help="steady-state window, s (default 30)"
    )
    parser.add_argument(
        "--capacity-window",
        type=float,
        default=35.0,
        help="capacity window, s: at least one control period (default 35)",
    )
    parser.add_argument(
        "--profile",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also profile the largest size that is at least 346 (py-spy on HA and "
        "the world, then pyinstrument inside HA), for SECONDS each",
    )
    parser.add_argument(
        "--setup-limit",
        type=float,
        default=300.0,
        help="give up waiting for all entities after this many seconds (default 300)",
    )
    parser.add_argument(
        "--no-restart",
        dest="restart",
        action="store_false",
        help="measure on the first start only",
    )
    parser.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip Home Assistant without Q.rads (per-Q.rad figures need it)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    parser.add_argument("--name", help="base name of the result files (default latest)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (configs, logs)"
    )
    return parser.parse_args(argv)


def say(text: str) -> None:
    """Progress, on stderr."""
    sys.stderr.write(f"bench: {text}\n")
    sys.stderr.flush()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every size, then the capacity sweep."""
    # SIGTERM, like Ctrl-C, cancels the run: every process it started is stopped.
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    began = time.monotonic()
    stamp = datetime.now(UTC)
    workdir = REPO / ".cache" / "bench" / stamp.strftime("%Y%m%d-%H%M%S")
    workdir.mkdir(parents=True)
    if not os.environ.get("QRAD_LAN_POOL"):
        say("not inside the emulated LAN: Q.rads share 127.0.0.1 (use scripts/bench)")
    options = Options(
        workdir=workdir,
        push_samples=args.push_samples,
        setpoint_samples=args.setpoint_samples,
        window_s=args.window,
        restart=args.restart,
        setup_limit_s=args.setup_limit,
    )
    profiled = max((s for s in args.sizes if s >= 346), default=None)
    results: dict[str, Any] = {
        "date": stamp.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "options": {
            "sizes": args.sizes,
            "repeat": args.repeat,
            "capacity_sizes": args.capacity_sizes,
            "push_samples": args.push_samples,
            "setpoint_samples": args.setpoint_samples,
            "window_s": args.window,
            "restart": args.restart,
            "emulated_lan": bool(os.environ.get("QRAD_LAN_POOL")),
        },
        "sizes": [],
        "capacity": [],
    }
    rounds = [(0, 1)] if args.baseline else []
    rounds += [(size, n) for size in args.sizes for n in range(1, args.repeat + 1)]
    for size, n in rounds:
        say(f"{size} Q.rad(s)" if size else "Home Assistant without Q.rads (baseline)")
        size_options = options
        if args.profile and size == profiled and n == 1:
            size_options = Options(**{**options.__dict__, "profile_s": args.profile})
        measured = await measure_size(size, size_options, say)
        results["sizes"].append(measured | {"round": n, "repeat": args.repeat})
    for count in args.capacity_sizes:
        results["capacity"].append(
            await measure_capacity(count, workdir, args.capacity_window, say)
        )
    results["duration_s"] = time.monotonic() - began
    results["workdir"] = str(workdir)
    if not args.keep:
        profiles = [p for p in workdir.glob("profile-n*") if p.is_dir()]
        for profile in profiles:
            target = args.out / profile.name
            if target.exists():
                shutil.rmtree(target)
            args.out.mkdir(parents=True, exist_ok=True)
            shutil.copytree(profile, target)
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> None:
    """Run, write latest.json/.md/.png, print the tables."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    results = asyncio.run(run(args))
    derive(results)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    name = args.name or "latest"
    (out / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    table = markdown(results)
    (out / f"{name}.md").write_text(table)
    plot(results, out / f"{name}.png")
    sys.stdout.write(table)
    sys.stdout.write(f"\nWritten: {out}/{name}.json, {name}.md, {name}.png\n")


if __name__ == "__main__":
    main()
