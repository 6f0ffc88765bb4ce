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
sys.path.insert(0, str(REPO))
from simulator.house import DEMO_PASSWORD, DEMO_USER, seed_onboarding  # noqa: E402

STOP_GRACE_S = 20
# The Q.rads were installed a week ago: Energy and history start full.
HISTORY_DAYS = 7
DIRECTORY = REPO / ".cache" / "run" / "directory.json"


async def _run(
    first: list[list[str]], later: list[list[str]], setup: list[str], past: list[str]
) -> int:
    """The Q.rads and their cloud first, then Home Assistant and the demo setup.

    The fleet writes its registry once it has announced itself: the setup then
    finds every Q.rad among the discovered ones as soon as Home Assistant runs.
    Once the house is ready, `past` brings the Q.rads' week into the recorder
    (a few minutes: it waits for the recorder's first statistics).
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    children = [
        await asyncio.create_subprocess_exec(*command, cwd=REPO, env=env)
        for command in first
    ]
    while not stop.is_set() and not DIRECTORY.exists():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    if not stop.is_set():
        children += [
            await asyncio.create_subprocess_exec(*command, cwd=REPO, env=env)
            for command in later
        ]
    waits = [asyncio.ensure_future(child.wait()) for child in children]
    if not stop.is_set():
        setup_process = await asyncio.create_subprocess_exec(*setup, cwd=REPO, env=env)
        if await setup_process.wait() == 0:
            children.append(
                await asyncio.create_subprocess_exec(*past, cwd=REPO, env=env)
            )
            print(
                "\nqrad: ready on http://127.0.0.1:8123 - log in as "
                f"{DEMO_USER} / {DEMO_PASSWORD}. One more Q.rad waits under\n"
                "qrad: Settings > Devices & services > Discovered. Ctrl-C stops it.\n",
                flush=True,
            )
        else:
            print("qrad: setting the demo house up failed (see above)", flush=True)
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait([*waits, stopper], return_when=asyncio.FIRST_COMPLETED)
    # The past's importer, started after `waits`, is stopped and awaited too.
    waits += [asyncio.ensure_future(child.wait()) for child in children[len(waits) :]]
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
    # The newest Home Assistant, as most owners run it (README, Requirements).
    newest = REPO / ".venv-newest" / "bin" / "python"
    later = [
        [
            *(str(newest), "-m", "homeassistant"),
            *("--config", str(REPO / "config"), "--skip-pip"),
        ],
    ]
    seed_onboarding(REPO / "config")
    directory = DIRECTORY
    directory.parent.mkdir(parents=True, exist_ok=True)
    directory.unlink(missing_ok=True)
    first = [
        [
            *(sys.executable, "-m", "simulator", "--auto-pair", "--household"),
            *("--history-days", str(HISTORY_DAYS)),
            *("--count", str(args.qrads), "--speed", str(args.speed)),
            # Heats ahead of the scheduled room's plan (docs/scheduling.md).
            *("--policy", "predictive"),
            *("--directory-file", str(directory)),
            # Paired tokens and meters outlive a restart, as config/ does.
            *("--state-dir", str(REPO / "config" / ".qrad-emulator")),
        ]
    ]
    token = REPO / ".cache" / "run" / "token"
    setup = [
        *(sys.executable, "-m", "simulator.house"),
        *("--directory", str(directory), "--pair", str(max(args.qrads - 1, 1))),
        *("--token-file", str(token)),
        "--scheduled-room",
    ]
    past = [sys.executable, "-m", "simulator.house_history", "--token-file", str(token)]
    if args.socket:
        forwarder = [sys.executable, str(REPO / "scripts" / "forward.py")]
        first.append([*forwarder, args.socket, "127.0.0.1:8123"])
    print(
        "qrad: starting Home Assistant, the emulated Q.rads and their cloud; the\n"
        "qrad: demo owner, the dashboard and the first Q.rads are set up for you.\n"
        "qrad: Pairing another Q.rad asks for its cloud account: use the account\n"
        "qrad: and secret the emulated cloud prints below.",
        flush=True,
    )
    return asyncio.run(_run(first, later, setup, past))


if __name__ == "__main__":
    sys.exit(main())
