"""One fleet size, measured end to end: world, pairing, Home Assistant, figures.

For a size N the benchmark starts the world (benchmarks/world.py: N emulated
Q.rads at speed 1, mosquitto, the controller, the floor server), pairs every
unit the way an owner would (button, then pairing request), writes the qrad
entries into a fresh Home Assistant config directory and starts Home Assistant
twice: a first start (registries empty, as right after adding the Q.rads) and a
restart (the usual case, after an update). Everything after that is measured on
the restarted Home Assistant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
import json
import logging
from pathlib import Path
import random
import signal
import subprocess
import sys
import time
from typing import Any

import aiohttp

from simulator.testing import free_port

from .hass import (
    REPO,
    HaError,
    HaSocket,
    HomeAssistant,
    PairedUnit,
    config_entries,
    write_config,
)
from .stats import cpu_reading, memory_reading, summary

LOGGER = logging.getLogger(__name__)
FLOOR_ENTITY = "sensor.qrad_probe_floor"
PAIRING_CONCURRENCY = 32
EVENT_TIMEOUT_S = 10.0
# The most each sampling phase may take, whatever the sample counts: an
# overloaded Home Assistant answers slowly, and the run must stay short.
PUSH_PHASE_S = 120.0
SETPOINT_PHASE_S = 90.0
# Calls to one Q.rad are at least this far apart.
SAME_UNIT_GAP_S = 0.5


@dataclass(frozen=True, kw_only=True)
class Options:
    """How long and how much to measure."""

    workdir: Path
    push_samples: int = 150
    setpoint_samples: int = 100
    window_s: float = 30.0
    settle_s: float = 10.0
    profile_s: float = 0.0
    restart: bool = True
    setup_limit_s: float = 300.0


def scaled(options: Options, size: int) -> Options:
    """Shorter windows, fewer samples for big fleets (the run must stay short)."""
    if size < 300:
        return options
    factor = 0.67 if size < 700 else 0.5
    return Options(
        workdir=options.workdir,
        push_samples=max(int(options.push_samples * factor), 40),
        setpoint_samples=max(int(options.setpoint_samples * factor), 40),
        window_s=max(options.window_s * factor, 15.0),
        settle_s=options.settle_s,
        profile_s=options.profile_s,
        restart=options.restart,
        setup_limit_s=options.setup_limit_s,
    )


class WorldProcess:
    """benchmarks/world.py in a child process, and its control API."""

    def __init__(
        self, count: int, workdir: Path, *, loopback: bool = False, cloud: bool = True
    ) -> None:
        """Configure; `start` runs it."""
        self.count = count
        self.workdir = workdir
        self.loopback = loopback
        self.cloud = cloud
        self.control_port = free_port()
        self.process: asyncio.subprocess.Process | None = None
        self.description: dict[str, Any] = {}
        self.session: aiohttp.ClientSession | None = None

    @property
    def pid(self) -> int:
        """The world's process id."""
        if self.process is None:
            raise RuntimeError("the world is not running")
        return self.process.pid

    async def start(self, limit_s: float = 300) -> None:
        """Start it and wait until every unit listens."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [
            *(sys.executable, "-m", "benchmarks.world"),
            *("--count", str(self.count), "--workdir", str(self.workdir)),
            *("--control-port", str(self.control_port)),
        ]
        if self.loopback:
            command.append("--loopback")
        if not self.cloud:
            command.append("--no-cloud")
        log = (self.workdir / "world.log").open("ab")
        self.process = await asyncio.create_subprocess_exec(
            *command, cwd=REPO, stdout=subprocess.PIPE, stderr=log
        )
        log.close()
        if self.process.stdout is None:
            raise RuntimeError("the world has no standard output")
        async with asyncio.timeout(limit_s):
            line = await self.process.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"the world did not start; see {self.workdir}/world.log")
        self.description = json.loads((self.workdir / "world.json").read_text())
        self.session = aiohttp.ClientSession(
            base_url=f"http://127.0.0.1:{self.control_port}"
        )

    async def stop(self) -> None:
        """SIGTERM and wait."""
        if self.session is not None:
            await self.session.close()
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                async with asyncio.timeout(60):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """One call to the control API."""
        if self.session is None:
            raise RuntimeError("the world is not running")
        async with self.session.request(method, path, json=body) as answer:
            answer.raise_for_status()
            return await answer.json()

    async def wait_cloud_spoke(self, limit_s: float = 120) -> None:
        """Until the controller has published a status of every unit.

        A building's cloud has run long before its Home Assistant starts, and its
        statuses are retained, so every cloud sensor reads at once. A fleet just
        started hears of the cloud only after its first control period (30 s):
        without this wait, a first start would measure that period.
        """
        async with asyncio.timeout(limit_s):
            # Another process's count: polled, there is no event to wait on.
            while (await self.call("GET", "/spoken"))["units"] < self.count:  # noqa: ASYNC110
                await asyncio.sleep(0.5)

    async def pair_all(self) -> list[PairedUnit]:
        """Press each unit's button and ask for a token, as an owner would."""
        gate = asyncio.Semaphore(PAIRING_CONCURRENCY)
        async with aiohttp.ClientSession() as session:

            async def pair(unit: dict[str, Any]) -> PairedUnit:
                base = f"http://{unit['host']}:{unit['port']}"
                async with gate:
                    async with session.post(f"{base}/_emulator/button") as answer:
                        answer.raise_for_status()
                    async with session.post(
                        f"{base}/api/v1/pairing", json={"client_name": "Home Assistant"}
                    ) as answer:
                        answer.raise_for_status()
                        paired = await answer.json()
                return PairedUnit(
                    serial=unit["serial"],
                    name=unit["name"],
                    host=unit["host"],
                    port=unit["port"],
                    account=unit["account"],
                    token=paired["token"],
                    token_id=paired["token_id"],
                )

            return list(
                await asyncio.gather(*(pair(u) for u in self.description["units"]))
            )


@dataclass
class Expectations:
    """State changes the benchmark waits for, keyed by entity and value."""

    waiting: dict[tuple[str, float], asyncio.Future[tuple[float, float]]] = field(
        default_factory=dict
    )

    def expect(
        self, entity_id: str, value: float
    ) -> asyncio.Future[tuple[float, float]]:
        """A future of (state written at, received at) for that value."""
        future: asyncio.Future[tuple[float, float]] = (
            asyncio.get_running_loop().create_future()
        )
        self.waiting[entity_id, round(value, 1)] = future
        return future

    def on_event(self, event: dict[str, Any], received: float) -> None:
        """A subscribe_entities event: compressed states ("a") or diffs ("c")."""
        for entity_id, diff in event.get("c", {}).items():
            added = diff.get("+", {})
            written = added.get("lu") or added.get("lc")
            if written is None:
                continue
            value = _probe_value(entity_id, added)
            if value is None:
                continue
            future = self.waiting.pop((entity_id, round(value, 1)), None)
            if future is not None and not future.done():
                future.set_result((float(written), received))


def _probe_value(entity_id: str, added: dict[str, Any]) -> float | None:
    try:
        if entity_id == FLOOR_ENTITY:
            return float(added["s"]) if "s" in added else None
        value = added.get("a", {}).get("current_temperature")
        return None if value is None else float(value)
    except TypeError, ValueError:
        return None


async def measure_size(
    size: int, options: Options, say: Callable[[str], None]
) -> dict[str, Any]:
    """Every figure of one fleet size (0: Home Assistant alone, the baseline)."""
    options = scaled(options, size)
    workdir = options.workdir / f"n{size}"
    result: dict[str, Any] = {"size": size}
    # Size 0 (Home Assistant alone) still gets the world's floor server: the
    # floor measured in an otherwise idle Home Assistant.
    world = WorldProcess(size, workdir / "world", cloud=size > 0)
    ha = HomeAssistant(workdir / "config", free_port())
    try:
        began = time.monotonic()
        await world.start()
        units = await world.pair_all()
        result["world_start_s"] = round(time.monotonic() - began, 1)
        if size:
            say(
                f"  {size} emulated Q.rads up and paired in {result['world_start_s']} s"
            )
        if size:
            await world.wait_cloud_spoke()
        description = world.description
        entries = config_entries(
            units, description.get("broker"), description.get("accounts", {})
        )
        write_config(ha.config, ha.port, size, entries)
        result["first_start"] = await _start(ha, size, options.setup_limit_s)
        say(f"  first start: {_setup_line(result['first_start'])}")
        if options.restart:
            result["stop_s"] = round(await ha.stop(), 1)
            spy = (
                _profile_dir(options, size) / "ha-start" if options.profile_s else None
            )
            result["restart"] = await _start(ha, size, options.setup_limit_s, spy)
            say(f"  restart:     {_setup_line(result['restart'])}")
        setup = result.get("restart", result["first_start"])
        result["setup"] = setup
        socket = await HaSocket.connect(ha.url, await ha.wait_token(60))
        try:
            await _steady(result, ha, socket, world, options, say)
            await _push_latency(result, socket, world, units, options, say)
            if units:
                await _setpoints(result, socket, world, units, options, say)
                if options.profile_s:
                    await _profile(result, ha, socket, world, options, say)
            result["memory_end"] = memory_reading(ha.pid)
        finally:
            await socket.close()
    finally:
        await ha.stop()
        await world.stop()
    return result


def _setup_line(setup: dict[str, Any]) -> str:
    parts = [f"HA started after {setup.get('ha_started_s')} s"]
    if setup.get("all_available_s") is not None:
        parts.append(
            f"{setup.get('entities')} qrad entities available after "
            f"{setup['all_available_s']} s"
        )
    parts.append(f"longest loop stall {setup.get('lag_max_ms')} ms")
    return ", ".join(parts)


async def _start(
    ha: HomeAssistant, size: int, limit_s: float, spy: Path | None = None
) -> dict[str, Any]:
    """Start Home Assistant and wait until it runs and every qrad entity is there.

    Gives up waiting after `limit_s` (the result says how far it got). With
    `spy`, py-spy records the start (at most 180 s) into spy.pyspy.txt.
    """
    ha.start()
    limit = limit_s
    spying = None
    if spy is not None:
        spying = await _py_spy(ha.pid, min(limit, 180), spy.with_suffix(".pyspy.txt"))
    token = await ha.wait_token(180)
    socket = await HaSocket.connect(ha.url, token)
    deadline = time.monotonic() + limit
    try:
        # HA 2026.10 takes YAML's http: as a trial config, reverted (with a
        # restart) unless confirmed within 5 minutes: confirm it, as a user would.
        with contextlib.suppress(HaError):
            await socket.command("http/config/promote")
        while True:
            setup = await socket.command("qrad_probe/setup")
            done = "ha_started_at" in setup and (
                size == 0 or "all_available_at" in setup
            )
            if done or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        memory = memory_reading(ha.pid)
    finally:
        await socket.close()
    if spying is not None and spying.returncode is None:
        spying.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
        await spying.wait()

    def since_start(key: str) -> float | None:
        at = setup.get(key)
        return None if at is None else round(at - ha.started_at, 2)

    return {
        "ha_started_s": since_start("ha_started_at"),
        "first_loaded_s": since_start("first_loaded_at"),
        "all_loaded_s": since_start("all_loaded_at"),
        "all_available_s": since_start("all_available_at"),
        "probe_setup_s": since_start("probe_setup_at"),
        "entries_loaded": setup.get("loaded"),
        "entities": setup.get("entities"),
        "available": setup.get("available"),
        "lag_max_ms": round(setup["lag_total"]["max_ms"], 1),
        "lag_over_50ms": setup["lag_total"]["over_50ms"],
        "stalls": setup["lag_total"].get("stalls", []),
        "memory": memory,
        "complete": size == 0 or "all_available_at" in setup,
    }


async def _steady(
    result: dict[str, Any],
    ha: HomeAssistant,
    socket: HaSocket,
    world: WorldProcess,
    options: Options,
    say: Callable[[str], None],
) -> None:
    """CPU, memory and loop lag of Home Assistant at the normal update rate."""
    await asyncio.sleep(options.settle_s)
    await socket.command("qrad_probe/lag", reset=True)
    await socket.command("qrad_probe/counts", reset=True)
    await world.call("GET", "/ticks?reset=1")
    ha_before = cpu_reading(ha.pid)
    world_before = cpu_reading(world.pid, children=True)
    began = time.monotonic()
    await asyncio.sleep(options.window_s)
    elapsed = time.monotonic() - began
    ha_after = cpu_reading(ha.pid)
    lag = await socket.command("qrad_probe/lag", reset=True)
    counts = await socket.command("qrad_probe/counts", reset=True)
    steady: dict[str, Any] = {
        "entity_writes_per_s": round(counts["writes"] / counts["seconds"], 1),
        "state_changes_per_s": round(counts["state_changes"] / counts["seconds"], 1),
        "window_s": round(elapsed, 1),
        "ha_cpu_percent": round(100 * (ha_after.total - ha_before.total) / elapsed, 2),
        "lag_max_ms": round(lag["max_ms"], 1),
        "lag_mean_ms": round(lag["mean_ms"], 2),
        "lag_over_50ms": lag["over_50ms"],
        "lag_over_100ms": lag["over_100ms"],
        "stalls": lag.get("stalls", []),
        "memory": memory_reading(ha.pid),
    }
    if units := world.count:
        world_after = cpu_reading(world.pid, children=True)
        steady["world_cpu_percent"] = round(
            100 * (world_after.total - world_before.total) / elapsed, 2
        )
        ticks = await world.call("GET", "/ticks?reset=1")
        steady["tick_ms"] = summary(ticks["ticks"], 1000)
        steady["control_period_ms"] = summary(ticks["periods"], 1000)
        streams = await world.call("GET", "/streams")
        steady["units_streaming"] = sum(1 for n in streams["streams"] if n)
        steady["units"] = units
    result["steady"] = steady
    say(
        f"  steady: HA {steady['ha_cpu_percent']} % CPU, "
        f"{steady['memory']['rss_mib']} MiB, longest stall {steady['lag_max_ms']} ms"
        + (
            f"; fleet tick p99 {steady['tick_ms'].get('p99')} ms"
            if "tick_ms" in steady
            else ""
        )
    )


async def _push_latency(
    result: dict[str, Any],
    socket: HaSocket,
    world: WorldProcess,
    units: list[PairedUnit],
    options: Options,
    say: Callable[[str], None],
) -> None:
    """A unit's pushed change to HA's state, and the floor, interleaved."""
    await socket.command("qrad_probe/floor", url=world.description["floor_url"])
    registry = await socket.command("config/entity_registry/list")
    climate = {
        entry["unique_id"].removesuffix("_thermostat"): entry["entity_id"]
        for entry in registry
        if entry["platform"] == "qrad" and entry["unique_id"].endswith("_thermostat")
    }
    sample = _spread(len(units), 20)
    entity_of = {index: climate[units[index].serial] for index in sample}
    kinds = ["qrad", "floor"] if units else ["floor"]
    expectations = Expectations()
    subscription = await socket.subscribe(
        "subscribe_entities",
        expectations.on_event,
        entity_ids=[*entity_of.values(), FLOOR_ENTITY],
    )
    # The floor entity exists once its first frame is written.
    await world.call("POST", "/floor", {"value": 0.0})
    await asyncio.sleep(0.5)
    rng = random.Random(1)  # noqa: S311 (spreads the probes, no secret)
    samples: dict[str, dict[str, list[float]]] = {
        kind: {"state": [], "delivered": []} for kind in ("qrad", "floor")
    }
    missed = {"qrad": 0, "floor": 0}
    deadline = time.monotonic() + PUSH_PHASE_S
    for number in range(options.push_samples * len(kinds)):
        if time.monotonic() > deadline:
            break
        value = 30.0 + (number % 190) / 10
        kind = kinds[number % len(kinds)]
        if kind == "qrad":
            index = sample[(number // 2) % len(sample)]
            future = expectations.expect(entity_of[index], value)
            sent = await world.call("POST", "/push", {"index": index, "value": value})
        else:
            future = expectations.expect(FLOOR_ENTITY, value)
            sent = await world.call("POST", "/floor", {"value": value})
        try:
            async with asyncio.timeout(EVENT_TIMEOUT_S):
                written, received = await future
        except TimeoutError:
            missed[kind] += 1
            continue
        samples[kind]["state"].append(written - sent["sent_at"])
        samples[kind]["delivered"].append(received - sent["sent_at"])
        await asyncio.sleep(rng.uniform(0.0, 0.25))
    await socket.command("unsubscribe_events", subscription=subscription)
    push: dict[str, Any] = {
        kind: {
            "to_state_ms": summary(values["state"], 1000),
            "to_client_ms": summary(values["delivered"], 1000),
            "missed": missed[kind],
        }
        for kind, values in samples.items()
    }
    for which in ("p50", "p99"):
        qrad = push["qrad"]["to_state_ms"].get(which)
        floor = push["floor"]["to_state_ms"].get(which)
        push[f"ratio_{which}"] = (
            round(qrad / floor, 2) if qrad is not None and floor else None
        )
    result["push"] = push
    if not units:
        say(
            f"  floor (idle HA): p50 {push['floor']['to_state_ms'].get('p50')} ms "
            f"p99 {push['floor']['to_state_ms'].get('p99')} ms"
        )
        return
    say(
        f"  push to state: qrad p50 {push['qrad']['to_state_ms'].get('p50')} ms "
        f"p99 {push['qrad']['to_state_ms'].get('p99')} ms; floor p50 "
        f"{push['floor']['to_state_ms'].get('p50')} ms p99 "
        f"{push['floor']['to_state_ms'].get('p99')} ms; ratio p99 {push['ratio_p99']}"
    )


def _spread(count: int, wanted: int) -> list[int]:
    """Up to `wanted` indexes spread evenly over `count` units."""
    if count <= wanted:
        return list(range(count))
    return sorted({round(i * (count - 1) / (wanted - 1)) for i in range(wanted)})


async def _setpoints(
    result: dict[str, Any],
    socket: HaSocket,
    world: WorldProcess,
    units: list[PairedUnit],
    options: Options,
    say: Callable[[str], None],
) -> None:
    """climate.set_temperature to the Q.rad applying it, and to the controller."""
    registry = await socket.command("config/entity_registry/list")
    climate = {
        entry["unique_id"].removesuffix("_thermostat"): entry["entity_id"]
        for entry in registry
        if entry["platform"] == "qrad" and entry["unique_id"].endswith("_thermostat")
    }
    sample = _spread(len(units), 20)
    await world.call("GET", "/marks")
    rng = random.Random(2)  # noqa: S311 (spreads the calls, no secret)
    targets = [19.0, 19.5, 20.5, 21.0, 21.5, 22.0]
    calls: list[tuple[str, float, float, float]] = []
    last_call: dict[str, float] = {}
    failures = 0
    deadline = time.monotonic() + SETPOINT_PHASE_S
    for number in range(options.setpoint_samples):
        if time.monotonic() > deadline:
            break
        unit = units[sample[number % len(sample)]]
        target = targets[(number // len(sample)) % len(targets)]
        # A lone change, as a person makes it: the integration spaces the writes
        # of one Q.rad (MIN_WRITE_INTERVAL_S), which must not be what is timed.
        wait = last_call.get(unit.serial, 0.0) + SAME_UNIT_GAP_S - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        last_call[unit.serial] = time.monotonic()
        called = time.time()
        try:
            await socket.command(
                "call_service",
                domain="climate",
                service="set_temperature",
                service_data={"entity_id": climate[unit.serial], "temperature": target},
                limit_s=30,
            )
        except Exception:  # noqa: BLE001 (counted, and the run goes on)
            failures += 1
            continue
        calls.append((unit.serial, target, called, time.time()))
        await asyncio.sleep(rng.uniform(0.02, 0.15))
    await asyncio.sleep(3)
    marks = (await world.call("GET", "/marks"))["marks"]
    to_service: list[float] = []
    to_unit: list[float] = []
    to_cloud: list[float] = []
    missing_cloud = 0
    for serial, target, called, done in calls:
        to_service.append(done - called)
        unit_at = _first_mark(marks, "unit", serial, target, called)
        cloud_at = _first_mark(marks, "cloud", serial, target, called)
        if unit_at is not None:
            to_unit.append(unit_at - called)
        if cloud_at is not None:
            to_cloud.append(cloud_at - called)
        else:
            missing_cloud += 1
    result["setpoint"] = {
        "to_qrad_ms": summary(to_unit, 1000),
        "to_ha_ack_ms": summary(to_service, 1000),
        "to_cloud_ms": summary(to_cloud, 1000),
        "failed_calls": failures,
        "missing_cloud": missing_cloud,
    }
    setpoint = result["setpoint"]
    say(
        f"  setpoint: Q.rad p50 {setpoint['to_qrad_ms'].get('p50')} ms "
        f"p99 {setpoint['to_qrad_ms'].get('p99')} ms; cloud p50 "
        f"{setpoint['to_cloud_ms'].get('p50')} ms p99 "
        f"{setpoint['to_cloud_ms'].get('p99')} ms"
    )


def _first_mark(
    marks: list[dict[str, Any]], kind: str, serial: str, target: float, after: float
) -> float | None:
    times = [
        mark["at"]
        for mark in marks
        if mark["kind"] == kind
        and mark["serial"] == serial
        and mark["target"] == target
        and mark["at"] >= after
    ]
    return min(times) if times else None


def _profile_dir(options: Options, size: int) -> Path:
    out = options.workdir / f"profile-n{size}"
    out.mkdir(parents=True, exist_ok=True)
    return out


async def _py_spy(pid: int, seconds: float, output: Path) -> asyncio.subprocess.Process:
    """py-spy sampling `pid` at 100 Hz into `output` (collapsed stacks)."""
    return await asyncio.create_subprocess_exec(
        *("py-spy", "record", "--pid", str(pid), "--duration", str(int(seconds))),
        *("--rate", "100", "--format", "raw", "--nonblocking"),
        *("--output", str(output)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _profile(
    result: dict[str, Any],
    ha: HomeAssistant,
    socket: HaSocket,
    world: WorldProcess,
    options: Options,
    say: Callable[[str], None],
) -> None:
    """py-spy on both processes, then pyinstrument inside HA (steady state)."""
    out = _profile_dir(options, result["size"])
    seconds = options.profile_s
    spies = [
        await _py_spy(pid, seconds, out / f"{name}-steady.pyspy.txt")
        for name, pid in (("ha", ha.pid), ("world", world.pid))
    ]
    await asyncio.gather(*(spy.wait() for spy in spies))
    answer = await socket.command(
        "qrad_probe/profile",
        seconds=seconds,
        path=str(out / "ha-steady.pyinstrument"),
        limit_s=seconds + 60,
    )
    result["profile"] = {"dir": str(out), "pyinstrument": answer}
    say(f"  profiles written to {out}")
