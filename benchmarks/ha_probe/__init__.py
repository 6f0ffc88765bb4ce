"""qrad_probe: what the benchmark measures from inside the Home Assistant under test.

Copied by the benchmark into the config directory of the Home Assistant it starts
(custom_components/qrad_probe) and set up from configuration.yaml; never part of
the qrad integration. It adds, over HA's own WebSocket API:

- `qrad_probe/setup`: when the qrad entries were loaded and every qrad entity
  was available (wall-clock times, so the benchmark can compare them with the
  moment it started the process);
- `qrad_probe/lag`: the event loop's lag since the last reset: a task asks to
  wake up every 10 ms and records how late it wakes (a stall of the loop of
  S ms shows as a lag of S - 10 ms or more); for the longest stalls, where the
  loop was: a watcher thread samples the loop thread's stack every 5 ms while
  it is late by more than 40 ms, and keeps the stacks seen most;
- `qrad_probe/floor`: opens a bare aiohttp WebSocket to the benchmark's floor
  server; every frame received is parsed and written with one
  `hass.states.async_set` on `sensor.qrad_probe_floor`: the least any
  integration can do to turn a pushed message into a state;
- `qrad_probe/profile`: pyinstrument over the event loop for some seconds;
- `qrad_probe/counts`: entity state writes asked (`async_write_ha_state`
  calls) and state changes made (`state_changed` events) since the last reset:
  the writes that changed nothing are the difference.

At start it creates a user `bench` and writes a long-lived access token to
`.bench_token` in the config directory for the benchmark's WebSocket client.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import timedelta
import json
import logging
from pathlib import Path
import sys
import threading
import time
from typing import Any

import aiohttp
from homeassistant.auth.const import GROUP_ID_ADMIN
from homeassistant.auth.models import TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN
from homeassistant.components import websocket_api
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    EVENT_HOMEASSISTANT_STARTED,
    EVENT_STATE_CHANGED,
    STATE_UNAVAILABLE,
)
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.typing import ConfigType
from homeassistant.util.hass_dict import HassKey
import probatio as vol

DOMAIN = "qrad_probe"
LOGGER = logging.getLogger(__name__)
DATA: HassKey[Probe] = HassKey(DOMAIN)
LAG_INTERVAL_S = 0.01
# A stall is sampled once the loop is this late; samples are this far apart.
STALL_SAMPLE_AFTER_S = 0.04
STALL_SAMPLE_EVERY_S = 0.005
STALLS_KEPT = 5
STACK_FRAMES_KEPT = 14
OTHER_FRAMES_KEPT = 6
# Where a waiting thread's innermost Python frame is: such a thread is idle.
IDLE_FUNCTIONS = frozenset(
    {
        "_worker",
        "wait",
        "get",
        "select",
        "poll",
        "accept",
        "dequeue",
        "_run_safe_shutdown_loop",
    }
)
# Frames every stack shares, left out of the report.
STACK_BASE = frozenset(
    {"run_forever", "_run_once", "_run", "run_until_complete", "run", "main"}
)
SETUP_POLL_S = 0.25
FLOOR_ENTITY = "sensor.qrad_probe_floor"
TOKEN_FILE = ".bench_token"  # noqa: S105 (a file name)

CONFIG_SCHEMA = vol.Schema(
    {
        DOMAIN: vol.Schema(
            {
                vol.Optional("expected", default=0): int,
            }
        )
    },
    extra=vol.ALLOW_EXTRA,
)


@dataclass
class LagStats:
    """Lags of the event loop since a reset."""

    since: float = field(default_factory=time.time)
    samples: int = 0
    total_s: float = 0.0
    max_s: float = 0.0
    max_at: float = 0.0
    over_50ms: int = 0
    over_100ms: int = 0
    stalls: list[dict[str, Any]] = field(default_factory=list)

    def add_stall(self, stall: dict[str, Any]) -> None:
        """Keep the longest stalls with where the loop was."""
        self.stalls.append(stall)
        self.stalls.sort(key=lambda kept: -kept["lag_ms"])
        del self.stalls[STALLS_KEPT:]

    def add(self, lag: float, now: float) -> None:
        """Count one wake-up that came `lag` seconds late."""
        self.samples += 1
        self.total_s += lag
        if lag > self.max_s:
            self.max_s, self.max_at = lag, now
        self.over_50ms += lag > 0.05
        self.over_100ms += lag > 0.1

    def as_dict(self) -> dict[str, Any]:
        """JSON for the benchmark."""
        return {
            "since": self.since,
            "samples": self.samples,
            "mean_ms": 1000 * self.total_s / self.samples if self.samples else 0.0,
            "max_ms": 1000 * self.max_s,
            "max_at": self.max_at,
            "over_50ms": self.over_50ms,
            "over_100ms": self.over_100ms,
            "stalls": self.stalls,
        }


class StallWatch(threading.Thread):
    """Samples the event loop thread's stack while the loop is late.

    The loop's lag monitor beats every 10 ms; when a beat is over 40 ms late
    this thread (which the GIL lets run every 5 ms) records the loop thread's
    stack, so each long stall comes with the code that held the loop, and the
    stacks of the other threads that were running Python meanwhile (a thread
    the loop waits behind for the GIL).
    """

    def __init__(self, loop_thread: int) -> None:
        """Watch the thread `loop_thread` (its ident)."""
        super().__init__(name="qrad_probe stall watch", daemon=True)
        self.loop_thread = loop_thread
        self.beat = time.monotonic()
        self.finished: deque[dict[str, Any]] = deque()

    def run(self) -> None:
        """Sample while late; hand each stall over once the loop beats again."""
        stacks: Counter[tuple[str, ...]] = Counter()
        others: Counter[tuple[str, ...]] = Counter()
        stalled_since = 0.0
        me = threading.get_ident()
        while True:
            time.sleep(STALL_SAMPLE_EVERY_S)
            beat = self.beat
            late = time.monotonic() - beat - LAG_INTERVAL_S
            if late > STALL_SAMPLE_AFTER_S:
                stalled_since = beat
                frames = sys._current_frames()  # noqa: SLF001
                if (frame := frames.pop(self.loop_thread, None)) is not None:
                    stacks[_stack(frame)] += 1
                for thread, other in frames.items():
                    if thread != me and other.f_code.co_name not in IDLE_FUNCTIONS:
                        others[_stack(other)[-OTHER_FRAMES_KEPT:]] += 1
            elif stacks and beat != stalled_since:
                lag = beat - stalled_since - LAG_INTERVAL_S
                self.finished.append(
                    {
                        "at": time.time(),
                        "lag_ms": round(1000 * lag, 1),
                        "samples": sum(stacks.values()),
                        "stacks": [
                            {"samples": count, "frames": list(stack)}
                            for stack, count in stacks.most_common(3)
                        ],
                        "other_threads": [
                            {"samples": count, "frames": list(stack)}
                            for stack, count in others.most_common(3)
                        ],
                    }
                )
                stacks, others = Counter(), Counter()


def _stack(frame: Any) -> tuple[str, ...]:
    """The innermost frames of a stack, outermost first, as module.function:line."""
    frames: list[str] = []
    while frame is not None and len(frames) < STACK_FRAMES_KEPT:
        code = frame.f_code
        if code.co_name not in STACK_BASE:
            module = frame.f_globals.get("__name__", "?")
            frames.append(f"{module}.{code.co_qualname}:{frame.f_lineno}")
        frame = frame.f_back
    return tuple(reversed(frames))


@dataclass
class Probe:
    """State of the probe in one Home Assistant run."""

    expected: int
    started_at: float = field(default_factory=time.time)
    lag: LagStats = field(default_factory=LagStats)
    lag_total: LagStats = field(default_factory=LagStats)
    watch: StallWatch = field(default_factory=lambda: StallWatch(threading.get_ident()))
    setup: dict[str, Any] = field(default_factory=dict)
    floor_task: asyncio.Task[None] | None = None
    floor_frames: int = 0
    counts_since: float = field(default_factory=time.time)
    writes: int = 0
    changes: int = 0


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Start the lag monitor and the setup tracker; register the commands."""
    options = config.get(DOMAIN, {})
    probe = Probe(expected=options.get("expected", 0))
    hass.data[DATA] = probe
    _count_writes(hass, probe)
    probe.setup["probe_setup_at"] = time.time()
    probe.watch.start()
    hass.async_create_background_task(_monitor_lag(probe), f"{DOMAIN}_lag")
    hass.async_create_background_task(_track_setup(hass, probe), f"{DOMAIN}_setup")

    @callback
    def started(_event: Event) -> None:
        probe.setup["ha_started_at"] = time.time()

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STARTED, started)
    for command in (ws_setup, ws_lag, ws_floor, ws_profile, ws_counts):
        websocket_api.async_register_command(hass, command)
    await _write_token(hass)
    return True


def _count_writes(hass: HomeAssistant, probe: Probe) -> None:
    """Count entity state writes asked for, and the state changes they made."""
    original = Entity.async_write_ha_state

    @callback
    def async_write_ha_state(self: Entity) -> None:
        probe.writes += 1
        original(self)

    Entity.async_write_ha_state = async_write_ha_state  # type: ignore[method-assign,misc]

    @callback
    def changed(_event: Event[EventStateChangedData]) -> None:
        probe.changes += 1

    hass.bus.async_listen(EVENT_STATE_CHANGED, changed)


async def _write_token(hass: HomeAssistant) -> None:
    user = await hass.auth.async_create_user("bench", group_ids=[GROUP_ID_ADMIN])
    refresh = await hass.auth.async_create_refresh_token(
        user,
        client_name="qrad benchmark",
        token_type=TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN,
        access_token_expiration=timedelta(days=1),
    )
    token = hass.auth.async_create_access_token(refresh)
    path = Path(hass.config.path(TOKEN_FILE))
    await hass.async_add_executor_job(path.write_text, token)


async def _monitor_lag(probe: Probe) -> None:
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + LAG_INTERVAL_S
        await asyncio.sleep(LAG_INTERVAL_S)
        lag = max(loop.time() - due, 0.0)
        now = time.time()
        probe.watch.beat = time.monotonic()
        probe.lag.add(lag, now)
        probe.lag_total.add(lag, now)
        while probe.watch.finished:
            stall = probe.watch.finished.popleft()
            probe.lag.add_stall(stall)
            probe.lag_total.add_stall(stall)


async def _track_setup(hass: HomeAssistant, probe: Probe) -> None:
    """Record when every expected qrad entry is loaded and its entities available."""
    registry = er.async_get(hass)
    setup = probe.setup
    while True:
        await asyncio.sleep(SETUP_POLL_S)
        entries = [
            entry
            for entry in hass.config_entries.async_entries("qrad")
            if entry.data.get("kind") != "account"
        ]
        loaded = [e for e in entries if e.state is ConfigEntryState.LOADED]
        if loaded and "first_loaded_at" not in setup:
            setup["first_loaded_at"] = time.time()
        if len(loaded) < probe.expected:
            setup["loaded"] = len(loaded)
            continue
        setup["loaded"] = len(loaded)
        setup.setdefault("all_loaded_at", time.time())
        total = available = 0
        for entry in loaded:
            for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
                if entity.disabled_by is not None:
                    continue
                total += 1
                state = hass.states.get(entity.entity_id)
                available += state is not None and state.state != STATE_UNAVAILABLE
        setup["entities"], setup["available"] = total, available
        if total and available == total:
            setup["all_available_at"] = time.time()
            return


@websocket_api.websocket_command({vol.Required("type"): "qrad_probe/setup"})
@callback
def ws_setup(
    hass: HomeAssistant,
    connection: websocket_api.ActiveConnection,
    msg: dict[str, Any],
) -> None:
    """The setup times recorded so far."""
    probe = hass.data[DATA]
    connection.send_result(
        msg["id"],
        {
            **probe.setup,
            "expected": probe.expected,
            "started_at": probe.started_at,
            "lag_total": probe.lag_total.as_dict(),
        },
    )


@websocket_api.websocket_command(
    {
        vol.Required("type"): "qrad_probe/lag",
        vol.Optional("reset", default=False): bool,
    }
)
@callback
def ws_lag(
    hass: HomeAssistant,
    connection: websocket_api.ActiveConnection,
    msg: dict[str, Any],
) -> None:
    """The loop's lag since the last reset (and reset it, if asked)."""
    probe = hass.data[DATA]
    result = probe.lag.as_dict()
    if msg["reset"]:
        probe.lag = LagStats()
    connection.send_result(msg["id"], result)


@websocket_api.websocket_command(
    {vol.Required("type"): "qrad_probe/floor", vol.Required("url"): str}
)
@callback
def ws_floor(
    hass: HomeAssistant,
    connection: websocket_api.ActiveConnection,
    msg: dict[str, Any],
) -> None:
    """Follow the floor server's stream at `url` (once)."""
    probe = hass.data[DATA]
    if probe.floor_task is None:
        probe.floor_task = hass.async_create_background_task(
            _follow_floor(hass, probe, msg["url"]), f"{DOMAIN}_floor"
        )
    connection.send_result(msg["id"], {"frames": probe.floor_frames})


async def _follow_floor(hass: HomeAssistant, probe: Probe, url: str) -> None:
    """The floor: a bare WebSocket, a JSON parse and one state write per frame."""
    session = async_get_clientsession(hass)
    async with session.ws_connect(url, heartbeat=None) as socket:
        async for message in socket:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(message.data)
            probe.floor_frames += 1
            value = frame.get("changes", {}).get("sensors", {}).get("temperature")
            if value is not None:
                hass.states.async_set(
                    FLOOR_ENTITY,
                    str(value),
                    {"unit_of_measurement": "°C", "seq": frame.get("seq")},
                )


@websocket_api.websocket_command(
    {
        vol.Required("type"): "qrad_probe/counts",
        vol.Optional("reset", default=False): bool,
    }
)
@callback
def ws_counts(
    hass: HomeAssistant,
    connection: websocket_api.ActiveConnection,
    msg: dict[str, Any],
) -> None:
    """Entity writes and state changes since the last reset."""
    probe = hass.data[DATA]
    now = time.time()
    result = {
        "seconds": now - probe.counts_since,
        "writes": probe.writes,
        "state_changes": probe.changes,
    }
    if msg["reset"]:
        probe.counts_since, probe.writes, probe.changes = now, 0, 0
    connection.send_result(msg["id"], result)


@websocket_api.websocket_command(
    {
        vol.Required("type"): "qrad_probe/profile",
        vol.Required("seconds"): vol.Coerce(float),
        vol.Required("path"): str,
    }
)
@websocket_api.async_response
async def ws_profile(
    hass: HomeAssistant,
    connection: websocket_api.ActiveConnection,
    msg: dict[str, Any],
) -> None:
    """Profile the event loop's thread with pyinstrument; write text and HTML."""
    from pyinstrument import Profiler  # noqa: PLC0415 (only in profiling runs)

    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    await asyncio.sleep(msg["seconds"])
    session = profiler.stop()
    path = Path(msg["path"])

    def write() -> None:
        path.with_suffix(".txt").write_text(
            profiler.output_text(unicode=True, color=False, show_all=False)
        )
        path.with_suffix(".self.txt").write_text(
            profiler.output_text(unicode=True, color=False, flat=True)
        )
        path.with_suffix(".html").write_text(profiler.output_html())

    await hass.async_add_executor_job(write)
    connection.send_result(
        msg["id"], {"duration_s": session.duration, "samples": session.sample_count}
    )
