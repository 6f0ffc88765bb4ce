"""Soak: a building of Q.rads under random faults while setpoints keep changing.

`scripts/soak` (or `python -m benchmarks.soak --minutes 3` inside the emulated
LAN) runs 346 emulated Q.rads of 50 accounts, a real mosquitto and the
controller, and drives them with the integration's own clients (`QradDevice`
and `QradCloud` with file-backed outboxes) as Home Assistant would: a setpoint
every few milliseconds to a random Q.rad, written to the unit and forwarded to
the cloud, while dropped streams, slow answers, refused connections, reboots
and broker restarts are injected. At the end every Q.rad's last setpoint must
be the one its unit applies and the one the controller holds; nothing lost.
The process's memory is sampled every minute and plotted, with the broker
restarts marked, in benchmarks/results/soak.png: after the warm-up it must stay
flat. Beside the resident size it counts the blocks Python's allocator holds
(live objects, whatever the arenas' high-water mark) and which kinds of object
are more numerous at rest, once the controller has caught up, than at the end
of the warm-up: a leak names itself there.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from dataclasses import dataclass, field
import gc
import json
from pathlib import Path
import random
import sys
import tempfile
import time
from typing import Any

import aiohttp

from custom_components.qrad.api import HvacMode, Preset, QradDevice, QradError
from custom_components.qrad.api.cloud import QradCloud
from custom_components.qrad.api.cloud_models import Heating, Origin
from custom_components.qrad.api.outbox import Outbox
from simulator.cloud.controller import Controller
from simulator.cloud.endpoint import BrokerEndpoint
from simulator.cloud.mosquitto import Mosquitto
from simulator.device.server import UnitServer
from simulator.fleet import Fleet, FleetConfig, lan_pool
from simulator.testing import FileStore, free_port

RESULTS = Path(__file__).parent / "results"
FAULTS = ("drop_websocket", "slow", "refuse_connections", "reboot")
BROKER_RESTART_EVERY_S = 30
MEMORY_EVERY_S = 60
# Memory is judged after this share of the run: the fleet's buffers, the
# outboxes and the allocator's arenas reach their working size first.
WARM_UP_SHARE = 0.25
# The controller is deemed stuck after this long without catching up further.
CATCH_UP_STALL_S = 60
# Tries, 0.5 s apart, to reach a unit still down from an earlier fault.
UNIT_DOWN_TRIES = 60
# Setpoint writers at once: an automation storm over the building.
WRITERS = 4


@dataclass
class Tally:
    """What happened during the soak."""

    setpoints: int = 0
    device_retries: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    # (minutes since the start, resident MB), every minute.
    rss_mb: list[tuple[float, float]] = field(default_factory=list)
    # (minutes since the start, blocks held by Python's allocator), every minute.
    blocks: list[tuple[float, int]] = field(default_factory=list)
    # Objects of each kind the collector tracks, at the warm-up's end.
    objects_warm: Counter[str] = field(default_factory=Counter)
    broker_restarts_min: list[float] = field(default_factory=list)
    # How long the controller took to hold every last setpoint (or to stop trying).
    verify_s: float = 0.0

    def sample_memory(self, at: float) -> None:
        """The resident size and Python's allocated blocks, `at` minutes in."""
        self.rss_mb.append((at, rss_mb()))
        self.blocks.append((at, sys.getallocatedblocks()))


def object_counts() -> Counter[str]:
    """How many objects of each kind the garbage collector tracks."""
    return Counter(type(item).__qualname__ for item in gc.get_objects())


def rss_mb() -> float:
    """The resident memory of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def pair(session: aiohttp.ClientSession, unit: UnitServer) -> QradDevice:
    """A client with a token, obtained by the button and pairing request."""
    unit.press_button()
    device = QradDevice(unit.host, unit.port, session=session)
    token = (await device.pair("soak")).token
    return QradDevice(unit.host, unit.port, token=token, session=session)


async def write_until_applied(device: QradDevice, target: float, tally: Tally) -> None:
    """Retry a write through faults, as the integration's command path would."""
    while True:
        try:
            await device.set_thermostat(
                target_temperature=target, hvac_mode=HvacMode.HEAT
            )
        except QradError:
            tally.device_retries += 1
            await asyncio.sleep(0.2)
        else:
            return


async def inject(unit: UnitServer, fault: str, session: aiohttp.ClientSession) -> None:
    """One fault through the emulator's control endpoint."""
    body: dict[str, Any] = {"fault": fault}
    if fault == "slow":
        body["delay_s"] = 0.3
    if fault == "refuse_connections":
        body["seconds"] = 1
    url = f"http://{unit.host}:{unit.port}/_emulator/faults"
    await _post(session, url, body)
    if fault == "slow":
        await asyncio.sleep(2)
        await _post(session, url, {"fault": "slow", "delay_s": 0})


async def _post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> None:
    """Post to a unit's control endpoint, through its refusals and reboots.

    A unit chosen at random may still be down from an earlier fault (over half
    an hour, one always is); it answers again within seconds.
    """
    for _ in range(UNIT_DOWN_TRIES):
        try:
            async with session.post(url, json=body) as answer:
                answer.raise_for_status()
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.5)
        else:
            return
    raise TimeoutError(f"{url} refused the soak's faults for 30 s")


async def soak(count: int, accounts: int, minutes: float, seed: int) -> dict[str, Any]:
    """Run the soak; the figures."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible load, not a secret
    workdir = Path(tempfile.mkdtemp(prefix="qrad-soak-"))
    broker_port = free_port()
    endpoint = BrokerEndpoint(host="127.0.0.1", port=broker_port)
    base_port = 8480 if lan_pool() else free_port()
    fleet = Fleet(
        FleetConfig(
            count=count,
            base_port=base_port,
            seed=seed,
            announce=False,
            accounts=accounts,
            cloud=endpoint,
        )
    )
    broker = Mosquitto(fleet.directory, workdir / "mosquitto", port=broker_port)
    await broker.start()
    controller = Controller(fleet.directory, endpoint, fleet.clock)
    await controller.start()
    tally = Tally()
    expected: dict[str, float] = {}
    async with fleet, aiohttp.ClientSession() as session:
        devices = await _pair_all(session, fleet)
        clouds = await _start_clouds(fleet, workdir, broker_port)
        started = time.monotonic()
        deadline = started + minutes * 60
        tally.sample_memory(0.0)

        async def setpoints() -> None:
            while time.monotonic() < deadline:
                unit = rng.choice(fleet.units)
                serial = unit.unit.identity.serial
                target = rng.randrange(10, 61) / 2
                await write_until_applied(devices[serial], target, tally)
                await clouds[fleet.directory.owners[serial]].submit(
                    serial,
                    Heating(
                        target_temperature=target,
                        hvac_mode=HvacMode.HEAT,
                        preset=Preset.NONE,
                        power_limit_w=500.0,
                    ),
                    Origin.AUTOMATION,
                )
                expected[serial] = target
                tally.setpoints += 1

        async def faults() -> None:
            last_broker_restart = time.monotonic()
            while time.monotonic() < deadline:
                await asyncio.sleep(rng.uniform(0.2, 0.8))
                fault = rng.choice(FAULTS)
                await inject(rng.choice(fleet.units), fault, session)
                tally.faults[fault] += 1
                if time.monotonic() - last_broker_restart > BROKER_RESTART_EVERY_S:
                    await _restart(broker, rng.uniform(0.5, 3))
                    tally.faults["broker_restart"] += 1
                    tally.broker_restarts_min.append((time.monotonic() - started) / 60)
                    last_broker_restart = time.monotonic()

        writers = [setpoints() for _ in range(WRITERS)]
        await asyncio.gather(
            *writers, faults(), _sample_memory(tally, started, deadline)
        )
        for unit in fleet.units:
            await inject(unit, "clear", session)
        delivered = await asyncio.gather(
            *(cloud.wait_delivered(120) for cloud in clouds.values())
        )
        lost_device, lost_cloud = await _verify(
            fleet, controller, clouds, expected, tally
        )
        for cloud in clouds.values():
            await cloud.close()
        at_rest = _memory_at_rest(tally.objects_warm)
    await controller.stop()
    await broker.stop()
    return {
        "qrads": count,
        "accounts": accounts,
        "minutes": minutes,
        **_outcome(tally, expected, delivered, lost_device, lost_cloud),
        **memory_figures(tally.rss_mb, minutes),
        **at_rest,
        "rss_mb_by_minute": [
            [round(at, 2), round(value, 1)] for at, value in tally.rss_mb
        ],
        "blocks_by_minute": [[round(at, 2), value] for at, value in tally.blocks],
        "broker_restarts_min": [round(at, 2) for at in tally.broker_restarts_min],
    }


def _memory_at_rest(objects_warm: Counter[str]) -> dict[str, Any]:
    """Memory once the storm is over and the controller has caught up.

    What a leak keeps is still there now, while what the storm had in flight
    (requests, retries, exceptions of the latest faults) is gone.
    """
    gc.collect()
    grown = object_counts() - objects_warm
    return {
        "rss_mb_after_catch_up": round(rss_mb(), 1),
        "blocks_after_catch_up": sys.getallocatedblocks(),
        "objects_grown_from_warm_to_rest": dict(grown.most_common(8)),
    }


async def _restart(broker: Mosquitto, down_s: float) -> None:
    """The broker stops, and comes back after `down_s`."""
    await broker.stop()
    await asyncio.sleep(down_s)
    await broker.start()


def _outcome(
    tally: Tally,
    expected: dict[str, float],
    delivered: list[bool],
    lost_device: list[str],
    lost_cloud: list[str],
) -> dict[str, Any]:
    """What was sent and injected, and what was lost."""
    return {
        "setpoints_sent": tally.setpoints,
        "qrads_touched": len(expected),
        "device_write_retries": tally.device_retries,
        "faults_injected": dict(tally.faults),
        "faults_total": sum(tally.faults.values()),
        "outboxes_delivered": all(delivered),
        "lost_on_device": len(lost_device),
        "lost_in_cloud": len(lost_cloud),
        "cloud_caught_up_after_s": round(tally.verify_s, 1),
    }


def memory_figures(
    samples: list[tuple[float, float]], minutes: float
) -> dict[str, float]:
    """First, warm, last and peak memory, and the growth after the warm-up.

    The growth is the least-squares slope of the samples after the warm-up, in
    MB per 10 minutes: a leak shows as a steady slope, a high-water mark as none.
    """
    warm = [(at, mb) for at, mb in samples if at >= minutes * WARM_UP_SHARE]
    mean_at = sum(at for at, _ in warm) / len(warm)
    mean_mb = sum(mb for _, mb in warm) / len(warm)
    spread = sum((at - mean_at) ** 2 for at, _ in warm)
    slope = (
        sum((at - mean_at) * (mb - mean_mb) for at, mb in warm) / spread
        if spread
        else 0.0
    )
    return {
        "rss_mb_first": round(samples[0][1], 1),
        "rss_mb_after_warm_up": round(warm[0][1], 1),
        "rss_mb_last": round(samples[-1][1], 1),
        "rss_mb_max": round(max(mb for _, mb in samples), 1),
        "rss_mb_growth_per_10_min_after_warm_up": round(slope * 10, 2),
    }


async def _sample_memory(tally: Tally, started: float, deadline: float) -> None:
    """Memory every minute until the deadline; the objects once warm."""
    warm_at = (deadline - started) / 60 * WARM_UP_SHARE
    while (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(MEMORY_EVERY_S, left))
        at = (time.monotonic() - started) / 60
        tally.sample_memory(at)
        if not tally.objects_warm and at >= warm_at:
            tally.objects_warm = object_counts()


def plot(figures: dict[str, Any], path: Path) -> None:
    """The memory curve, broker restarts marked (PNG)."""
    import matplotlib as mpl  # noqa: PLC0415

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    minutes, mb = zip(*figures["rss_mb_by_minute"], strict=True)
    figure, axes = plt.subplots(figsize=(8, 4))
    axes.plot(minutes, mb, marker="o", markersize=3, label="resident memory")
    blocks_at, blocks = zip(*figures["blocks_by_minute"], strict=True)
    live = axes.twinx()
    live.plot(
        blocks_at,
        [count / 1e6 for count in blocks],
        color="green",
        marker=".",
        markersize=3,
        label="Python's allocated blocks",
    )
    rest_at = figures["minutes"] + figures["cloud_caught_up_after_s"] / 60
    live.plot(
        [rest_at],
        [figures["blocks_after_catch_up"] / 1e6],
        color="green",
        marker="*",
        markersize=10,
        linestyle="none",
        label="blocks at rest (controller caught up)",
    )
    axes.plot(
        [rest_at],
        [figures["rss_mb_after_catch_up"]],
        color="C0",
        marker="*",
        markersize=10,
        linestyle="none",
        label="resident at rest",
    )
    live.set_ylabel("allocated blocks (millions)")
    live.set_ylim(bottom=0)
    for index, at in enumerate(figures["broker_restarts_min"]):
        axes.axvline(
            at,
            color="grey",
            alpha=0.3,
            linewidth=0.8,
            label="broker restart" if index == 0 else None,
        )
    axes.axvspan(
        0,
        figures["minutes"] * WARM_UP_SHARE,
        color="orange",
        alpha=0.1,
        label="warm-up",
    )
    axes.set_xlabel("minutes")
    axes.set_ylabel("MB")
    axes.set_ylim(bottom=0)
    axes.set_title(
        f"Soak: {figures['qrads']} Q.rads, {figures['setpoints_sent']} setpoints, "
        f"{figures['faults_total']} faults, lost {figures['lost_on_device']}"
        f" / {figures['lost_in_cloud']}; "
        f"{figures['rss_mb_growth_per_10_min_after_warm_up']:+.1f} MB / 10 min warm"
    )
    lines, labels = axes.get_legend_handles_labels()
    live_lines, live_labels = live.get_legend_handles_labels()
    axes.legend(lines + live_lines, labels + live_labels, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


async def _pair_all(
    session: aiohttp.ClientSession, fleet: Fleet
) -> dict[str, QradDevice]:
    """A paired client per Q.rad, by serial."""
    devices = await asyncio.gather(*(pair(session, unit) for unit in fleet.units))
    serials = [unit.unit.identity.serial for unit in fleet.units]
    return dict(zip(serials, devices, strict=True))


async def _start_clouds(
    fleet: Fleet, workdir: Path, broker_port: int
) -> dict[str, QradCloud]:
    """One cloud link per account, each with its outbox in a file."""
    clouds: dict[str, QradCloud] = {}
    for account, secret in fleet.directory.accounts.items():
        outbox = Outbox(FileStore(workdir / f"outbox-{account}.json"))
        await outbox.load()
        clouds[account] = QradCloud(
            "127.0.0.1", broker_port, account, secret, outbox=outbox, tls=False
        )
        await clouds[account].start()
    return clouds


async def _verify(
    fleet: Fleet,
    controller: Controller,
    clouds: dict[str, QradCloud],
    expected: dict[str, float],
    tally: Tally,
) -> tuple[list[str], list[str]]:
    """Q.rads whose last setpoint the unit, or the controller, does not hold."""
    ledgers = controller.scheduler.ledgers
    owners = fleet.directory.owners

    def held_by_cloud(serial: str, target: float) -> bool:
        setpoint = ledgers[serial].setpoint
        return (
            setpoint is not None
            and setpoint.target_temperature == target
            and setpoint.seq == clouds[owners[serial]].outbox.last_seq[serial]
        )

    # The controller reads the setpoints in order, and under the soak's storm
    # it ends behind: what the broker acknowledged is queued for it, not lost.
    # It is given time while it reads on, and none once it stops.
    def applied() -> int:
        """How far the controller has read: the sum of the seqs it applied."""
        return sum(setpoint.seq for s in expected if (setpoint := ledgers[s].setpoint))

    began = time.monotonic()
    read, progress_at = 0, began
    while time.monotonic() - progress_at < CATCH_UP_STALL_S:
        await controller.connected.wait()
        if all(held_by_cloud(s, t) for s, t in expected.items()):
            break
        if (now_read := applied()) > read:
            read, progress_at = now_read, time.monotonic()
        await asyncio.sleep(0.5)
    tally.verify_s = time.monotonic() - began
    by_serial = {unit.unit.identity.serial: unit for unit in fleet.units}
    lost_device = [
        s for s, t in expected.items() if by_serial[s].unit.thermostat.target != t
    ]
    lost_cloud = [s for s, t in expected.items() if not held_by_cloud(s, t)]
    return lost_device, lost_cloud


def main() -> None:
    """Run, print, and keep the figures in benchmarks/results/soak.json."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.soak", description=__doc__
    )
    parser.add_argument("--qrads", type=int, default=346)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    figures = asyncio.run(soak(args.qrads, args.accounts, args.minutes, args.seed))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(figures, indent=2) + "\n")
    plot(figures, RESULTS / "soak.png")
    for key, value in figures.items():
        if key not in ("rss_mb_by_minute", "blocks_by_minute", "broker_restarts_min"):
            print(f"{key:>22}: {value}")  # noqa: T201


if __name__ == "__main__":
    main()
