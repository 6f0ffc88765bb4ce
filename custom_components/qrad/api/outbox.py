"""The durable outbox of setpoints and plans (docs/protocol.md 6.3, 6.11).

Per Q.rad it holds the latest setpoint not yet acknowledged by the broker, the
latest setpoint known at all (sent, or read back retained), and the last
sequence number used; and the same for plans, numbered apart (a new plan
replaces one not yet delivered). It saves itself through an injected store before a
setpoint counts as accepted, so that a restart of Home Assistant loses nothing.

Saves are group commits: a save holds every Q.rad's setpoints, so when a
hundred Q.rads change at once (a start-up, a period of acknowledgements) the
changes made while one save is being written all go in the next one, instead
of a whole save each (which grows as the square of the fleet).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
import logging
from typing import Any, Protocol

from .cloud_models import Heating, Origin, Plan, PlannedChange, PlanSource, Setpoint
from .exceptions import QradInvalidResponseError

_LOGGER = logging.getLogger(__name__)


class OutboxStore(Protocol):
    """Where the outbox keeps itself (Home Assistant's Store, a file in tests)."""

    async def async_load(self) -> dict[str, Any] | None:
        """The saved data, or None."""

    async def async_save(self, data: dict[str, Any]) -> None:
        """Save the data."""


@dataclass
class MemoryStore:
    """A store that forgets on restart: for tools and tests that want no file."""

    data: dict[str, Any] | None = None

    async def async_load(self) -> dict[str, Any] | None:
        """The saved data."""
        return self.data

    async def async_save(self, data: dict[str, Any]) -> None:
        """Keep a copy."""
        self.data = dict(data)


@dataclass
class Outbox:
    """Setpoints waiting for the broker, per serial, and the seqs used."""

    store: OutboxStore
    pending: dict[str, Setpoint] = field(default_factory=dict)
    latest: dict[str, Setpoint] = field(default_factory=dict)
    last_seq: dict[str, int] = field(default_factory=dict)
    plans: dict[str, Plan] = field(default_factory=dict)
    last_plan_seq: dict[str, int] = field(default_factory=dict)
    # The writer at work, and the save that will take the changes not yet in one.
    _saving: asyncio.Task[None] | None = field(default=None, repr=False)
    _next_save: asyncio.Future[None] | None = field(default=None, repr=False)

    async def load(self) -> None:
        """Read what a previous run left; a damaged entry is dropped with a warning."""
        data = await self.store.async_load() or {}
        self.last_seq = {
            str(serial): seq
            for serial, seq in dict(data.get("last_seq", {})).items()
            if isinstance(seq, int)
        }
        self.pending = _setpoints(data.get("pending", []))
        self.latest = _setpoints(data.get("latest", []))
        for setpoint in (*self.pending.values(), *self.latest.values()):
            self.raise_seq(setpoint.serial, setpoint.seq)
        self.last_plan_seq = {
            str(serial): seq
            for serial, seq in dict(data.get("last_plan_seq", {})).items()
            if isinstance(seq, int)
        }
        self.plans = _plans(data.get("plans", []))
        for plan in self.plans.values():
            self.raise_plan_seq(plan.serial, plan.seq)

    def next_seq(self, serial: str) -> int:
        """The seq for the next setpoint of `serial`."""
        return self.last_seq.get(serial, 0) + 1

    def raise_seq(self, serial: str, seq: int) -> None:
        """Never reuse `seq` (seen retained at the broker or acknowledged)."""
        if seq > self.last_seq.get(serial, 0):
            self.last_seq[serial] = seq

    async def add(self, serial: str, heating: Heating, origin: Origin) -> Setpoint:
        """A new setpoint for `serial`, numbered and saved before it counts."""
        now = datetime.now(UTC)
        setpoint = Setpoint(
            serial=serial,
            target_temperature=heating.target_temperature,
            hvac_mode=heating.hvac_mode,
            preset=heating.preset,
            power_limit_w=heating.power_limit_w,
            origin=origin,
            # The wire carries milliseconds; an echo must compare equal.
            timestamp=now.replace(microsecond=now.microsecond // 1000 * 1000),
            seq=self.next_seq(serial),
        )
        await self._put(setpoint)
        return setpoint

    def raise_plan_seq(self, serial: str, seq: int) -> None:
        """Never reuse a plan's `seq` (seen retained at the broker)."""
        if seq > self.last_plan_seq.get(serial, 0):
            self.last_plan_seq[serial] = seq

    async def add_plan(
        self,
        serial: str,
        changes: tuple[PlannedChange, ...],
        *,
        source: PlanSource,
        valid_for: timedelta,
    ) -> Plan:
        """A new plan for `serial`, from now for `valid_for`, numbered and saved.

        A change already past is dropped (the setpoint says what holds now);
        ValueError if what remains breaks 6.11.
        """
        now = datetime.now(UTC).replace(microsecond=0)
        plan = Plan(
            serial=serial,
            seq=self.last_plan_seq.get(serial, 0) + 1,
            source=source,
            issued_at=now,
            valid_until=now + valid_for,
            # The wire carries whole seconds: what is kept must compare equal.
            changes=tuple(
                replace(change, at=change.at.replace(microsecond=0))
                for change in changes
                if change.at >= now
            ),
        )
        self.plans[serial] = plan
        self.raise_plan_seq(serial, plan.seq)
        await self._save()
        return plan

    async def plan_delivered(self, serial: str, seq: int) -> None:
        """The broker acknowledged plan `seq`: forget it unless a newer one waits."""
        waiting = self.plans.get(serial)
        if waiting is not None and waiting.seq <= seq:
            del self.plans[serial]
            await self._save()

    async def observe_plan(self, seen: Plan) -> Plan | None:
        """Take in a plan seen retained; renumber a waiting plan it would make stale.

        The waiting plan itself, already delivered once, needs no new number.
        """
        serial = seen.serial
        self.raise_plan_seq(serial, seen.seq)
        waiting = self.plans.get(serial)
        if waiting is None or waiting.seq > seen.seq or waiting == seen:
            return None
        fresh = replace(waiting, seq=self.last_plan_seq[serial] + 1)
        self.plans[serial] = fresh
        self.raise_plan_seq(serial, fresh.seq)
        await self._save()
        return fresh

    async def delivered(self, serial: str, seq: int) -> None:
        """The broker acknowledged `seq`: forget it unless a newer one waits."""
        waiting = self.pending.get(serial)
        if waiting is not None and waiting.seq <= seq:
            del self.pending[serial]
            await self._save()

    async def observe(
        self, serial: str, seq: int, seen: Setpoint | None = None
    ) -> Setpoint | None:
        """Take in a seq seen at the broker: a retained setpoint, or a status.

        A waiting setpoint that the broker already holds a newer (or a different
        equal) seq for would be ignored as stale: it gets a fresh seq, and is
        returned so that the caller sends it again.
        """
        self.raise_seq(serial, seq)
        if seen is not None and (
            serial not in self.latest or self.latest[serial].seq < seen.seq
        ):
            self.latest[serial] = seen
        waiting = self.pending.get(serial)
        if waiting is None or waiting.seq > seq:
            return None
        if waiting.seq == seq and (seen is None or seen.payload() == waiting.payload()):
            return None
        fresh = replace(waiting, seq=self.next_seq(serial))
        await self._put(fresh)
        return fresh

    def in_order(self) -> list[Setpoint]:
        """The waiting setpoints, oldest first."""
        return sorted(self.pending.values(), key=lambda sp: sp.timestamp)

    async def _put(self, setpoint: Setpoint) -> None:
        self.pending[setpoint.serial] = setpoint
        self.latest[setpoint.serial] = setpoint
        self.raise_seq(setpoint.serial, setpoint.seq)
        await self._save()

    async def _save(self) -> None:
        """Return once a save that began after this change is written."""
        loop = asyncio.get_running_loop()
        if self._next_save is None:
            self._next_save = loop.create_future()
        written = self._next_save
        if self._saving is None:
            self._saving = loop.create_task(self._write_all())
        await asyncio.shield(written)

    async def _write_all(self) -> None:
        """Write until no change waits: each write takes all made before it."""
        written: asyncio.Future[None] | None = None
        try:
            while (written := self._next_save) is not None:
                self._next_save = None
                try:
                    await self._write_once()
                except Exception as err:  # noqa: BLE001 (raised in every caller)
                    written.set_exception(err)
                else:
                    written.set_result(None)
        except asyncio.CancelledError:
            # Stopped (Home Assistant shuts down): nobody waits for a save forever.
            for waiting in (written, self._next_save):
                if waiting is not None and not waiting.done():
                    waiting.cancel()
            self._next_save = None
            raise
        finally:
            self._saving = None

    async def _write_once(self) -> None:
        await self.store.async_save(
            {
                "last_seq": dict(self.last_seq),
                "pending": [sp.to_dict() for sp in self.pending.values()],
                "latest": [sp.to_dict() for sp in self.latest.values()],
                "last_plan_seq": dict(self.last_plan_seq),
                "plans": [plan.to_dict() for plan in self.plans.values()],
            }
        )


def _setpoints(raw_list: object) -> dict[str, Setpoint]:
    """Setpoints read back from the store, keyed by serial."""
    found: dict[str, Setpoint] = {}
    for raw in raw_list if isinstance(raw_list, list) else []:
        try:
            setpoint = Setpoint.from_dict(raw)
        except QradInvalidResponseError as err:
            _LOGGER.warning("dropped a damaged setpoint from the outbox: %s", err)
            continue
        found[setpoint.serial] = setpoint
    return found


def _plans(raw_list: object) -> dict[str, Plan]:
    """Plans read back from the store, keyed by serial."""
    found: dict[str, Plan] = {}
    for raw in raw_list if isinstance(raw_list, list) else []:
        try:
            plan = Plan.from_dict(raw)
        except QradInvalidResponseError as err:
            _LOGGER.warning("dropped a damaged plan from the outbox: %s", err)
            continue
        found[plan.serial] = plan
    return found
