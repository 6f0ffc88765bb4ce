"""Runs the development Home Assistant and what it talks to; stops them all together.

Started by scripts/develop inside the emulated LAN: Home Assistant and a fleet
of emulated Q.rads (pairing window always open, so that adding one from the
"Discovered" list needs no button). With --socket, Home
Assistant's port is also served on that unix socket, which the host side of
scripts/develop forwards to the host's 127.0.0.1:8123.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from pathlib import Path
import signal
import sys

REPO = Path(__file__).resolve().parent.parent
STOP_GRACE_S = 20


async def _run(commands: list[list[str]]) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children = [
        await asyncio.create_subprocess_exec(*command, cwd=REPO, env=env)
        for command in commands
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waits = [asyncio.ensure_future(child.wait()) for child in children]
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait([*waits, stopper], return_when=asyncio.FIRST_COMPLETED)
    for child in children:
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.terminate()
    try:
        await asyncio.wait_for(asyncio.gather(*waits), STOP_GRACE_S)
    except TimeoutError:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
        await asyncio.gather(*waits)
    stopper.cancel()
    return 0 if stop.is_set() else 1


def main() -> int:
    """Parse the options, start everything, wait for Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--socket", help="also serve Home Assistant's port on this unix socket"
    )
    parser.add_argument(
        "--qrads", type=int, default=3, help="emulated Q.rads to run (default 3)"
    )
    parser.add_argument(
        "--speed", type=float, default=60, help="their time acceleration (default 60)"
    )
    args = parser.parse_args()
    commands = [
        [
            *(sys.executable, "-m", "homeassistant"),
            *("--config", str(REPO / "config"), "--skip-pip"),
        ],
    ]
    commands.append(
        [
            *(sys.executable, "-m", "simulator", "--auto-pair"),
            *("--count", str(args.qrads), "--speed", str(args.speed)),
        ]
    )
    if args.socket:
        forwarder = [sys.executable, str(REPO / "scripts" / "forward.py")]
        commands.append([*forwarder, args.socket, "127.0.0.1:8123"])
    print(
        "qrad: Home Assistant starts on http://127.0.0.1:8123 (Ctrl-C stops it all).\n"
        "qrad: when it asks for the Q.rads' cloud account, use the account and\n"
        "qrad: secret the emulated cloud prints below.",
        flush=True,
    )
    return asyncio.run(_run(commands))


if __name__ == "__main__":
    sys.exit(main())
