"""One writer of setpoints per Q.rad: coalesced, in order, never lost.

A slider drag or an automation storm asks for many setpoints within a second.
Sending each would hit the Q.rad's rate limit (10 requests/s, docs/protocol.md
9) and, the requests racing each other, could leave an older value last. So
each Q.rad has a single-flight writer: while a write is in flight, later
requests replace the pending values (field by field: a target replaces an
earlier target or preset, a mode an earlier mode, a power limit an earlier
limit), and the latest pending values are always written next. Every caller
returns once its value, or a later one that replaced it, is on the Q.rad and in
its account's outbox.

A `429 rate_limited` or `503 busy` is asked again after the Q.rad's Retry-After
for up to a minute (SETPOINT_RETRY, run here over the batch rather than by the
client, so that each try carries whatever newer values arrived meanwhile); it
is never taken for a refused token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
from functools import partial

from .api import (
    ASK_ONCE,
    BusyRetry,
    HvacMode,
    Power,
    Preset,
    QradDevice,
    QradError,
    Thermostat,
)
from .api.cloud_models import Origin

# Writes of one Q.rad start at least this far apart: a lone change goes at
# once, a drag sends about five values a second, well within the Q.rad's rate
# limit (10 requests/s) and leaving room for the other commands.
MIN_WRITE_INTERVAL_S = 0.2
# A setpoint must land: a busy Q.rad is asked again for up to a minute.
SETPOINT_RETRY = BusyRetry(budget_s=60.0)


@dataclass
class Wanted:
    """The values a write will send; the latest request for each field wins."""

    target_temperature: float | None = None
    hvac_mode: HvacMode | None = None
    preset: Preset | None = None
    power_limit_w: float | None = None
    origin: Origin = Origin.USER
    waiters: list[asyncio.Future[None]] = field(default_factory=list)

    def merge(
        self,
        *,
        target_temperature: float | None = None,
        hvac_mode: HvacMode | None = None,
        preset: Preset | None = None,
        power_limit_w: float | None = None,
        origin: Origin = Origin.USER,
    ) -> None:
        """Take a later request in: a target and a preset replace each other."""
        if target_temperature is not None:
            self.target_temperature, self.preset = target_temperature, None
        if preset is not None:
            self.preset, self.target_temperature = preset, None
        if hvac_mode is not None:
            self.hvac_mode = hvac_mode
        if power_limit_w is not None:
            self.power_limit_w = power_limit_w
        self.origin = origin

    def absorb(self, later: Wanted) -> None:
        """Take in everything a later batch asked for, and its callers."""
        self.merge(
            target_temperature=later.target_temperature,
            hvac_mode=later.hvac_mode,
            preset=later.preset,
            power_limit_w=later.power_limit_w,
            origin=later.origin if later.waiters else self.origin,
        )
        self.waiters.extend(later.waiters)

    @property
    def thermostat(self) -> bool:
        """Whether a thermostat field is wanted."""
        return (
            self.target_temperature is not None
            or self.hvac_mode is not None
            or self.preset is not None
        )

    @property
    def empty(self) -> bool:
        """Nothing to write and nobody waiting."""
        return not self.waiters and not self.thermostat and self.power_limit_w is None


@dataclass
class SetpointWriter:
    """Writes one Q.rad's setpoints, one request at a time."""

    device: QradDevice
    # Show an answer at once; forward the Q.rad's setpoint to the cloud.
    on_thermostat: Callable[[Thermostat], None]
    on_power: Callable[[Power], None]
    forward: Callable[[Origin], Awaitable[None]]
    # Told when writing starts and stops (pushes meanwhile are our own doing).
    on_busy: Callable[[bool], None]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _wanted: Wanted = field(default_factory=Wanted)
    _task: asyncio.Task[None] | None = None
    _last_write: float | None = None

    async def request(
        self,
        *,
        target_temperature: float | None = None,
        hvac_mode: HvacMode | None = None,
        preset: Preset | None = None,
        power_limit_w: float | None = None,
        origin: Origin = Origin.USER,
    ) -> None:
        """Ask for these values; return once they (or later ones) are written."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._wanted.merge(
            target_temperature=target_temperature,
            hvac_mode=hvac_mode,
            preset=preset,
            power_limit_w=power_limit_w,
            origin=origin,
        )
        self._wanted.waiters.append(waiter)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"qrad writer {self.device.host}"
            )
        await waiter

    @property
    def pending(self) -> bool:
        """Whether values wait to be written (or are being written)."""
        return self._task is not None

    async def stop(self) -> None:
        """Stop writing (the entry unloads); the callers waiting get an error."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for waiter in self._wanted.waiters:
            if not waiter.done():
                waiter.set_exception(QradError("the Q.rad is being unloaded"))
        self._wanted = Wanted()

    async def _run(self) -> None:
        self.on_busy(True)  # noqa: FBT003
        try:
            while not self._wanted.empty:
                batch, self._wanted = self._wanted, Wanted()
                try:
                    async with self.lock:
                        await self._write(batch)
                    await self.forward(batch.origin)
                except QradError as err:
                    _settle(batch.waiters, err)
                    continue
                except asyncio.CancelledError:
                    _settle(batch.waiters, QradError("the Q.rad is being unloaded"))
                    raise
                _settle(batch.waiters, None)
        finally:
            self._task = None
            self.on_busy(False)  # noqa: FBT003

    async def _write(self, batch: Wanted) -> None:
        """Write the batch; while the Q.rad is busy, asked again with anything newer."""
        await SETPOINT_RETRY.run(partial(self._try_write, batch))

    async def _try_write(self, batch: Wanted) -> None:
        """One try; what it wrote leaves the batch, so a retry sends only the rest."""
        loop = asyncio.get_running_loop()
        if self._last_write is not None:
            # Let the values of a drag, or those asked while the Q.rad was
            # busy, gather: they join this batch.
            await asyncio.sleep(self._last_write + MIN_WRITE_INTERVAL_S - loop.time())
            batch.absorb(self._wanted)
            self._wanted = Wanted()
        self._last_write = loop.time()
        if batch.thermostat:
            thermostat = await self.device.set_thermostat(
                target_temperature=batch.target_temperature,
                hvac_mode=batch.hvac_mode,
                preset=batch.preset,
                retry=ASK_ONCE,
            )
            self.on_thermostat(thermostat)
            batch.target_temperature = batch.preset = batch.hvac_mode = None
        if batch.power_limit_w is not None:
            power = await self.device.set_power_limit(
                batch.power_limit_w, retry=ASK_ONCE
            )
            self.on_power(power)
            batch.power_limit_w = None


def _settle(waiters: list[asyncio.Future[None]], error: QradError | None) -> None:
    for waiter in waiters:
        if waiter.done():
            continue
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)
