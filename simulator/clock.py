"""Simulated time, so that a day of heating can pass in minutes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import time


class Clock:
    """Simulated time running `speed` times faster than real time (1 = real time).

    Simulated and real time coincide at `origin` (a Unix time, by default the
    clock's creation), so two processes given the same origin and speed, e.g. a
    fleet and a controller started apart, agree on the simulated date.
    """

    def __init__(self, speed: float = 1.0, origin: float | None = None) -> None:
        """Run at `speed` from `origin`."""
        if speed < 0:
            raise ValueError("speed must not be negative")
        self.speed = speed
        self.origin = time.time() if origin is None else origin
        self._start = datetime.fromtimestamp(self.origin, UTC)
        self._real_start = time.monotonic() - (time.time() - self.origin)

    def monotonic(self) -> float:
        """Simulated seconds since the origin."""
        return (time.monotonic() - self._real_start) * self.speed

    def now(self) -> datetime:
        """The simulated date and time, in UTC."""
        return self._start + timedelta(seconds=self.monotonic())

    def simulated(self, moment: datetime) -> datetime:
        """Where the simulated clock is when the real one shows `moment`."""
        return self._start + (moment - self._start) * self.speed

    def real(self, moment: datetime) -> datetime:
        """Where the real clock is when the simulated one shows `moment`."""
        if not self.speed:
            return moment
        return self._start + (moment - self._start) / self.speed

    async def sleep(self, simulated_seconds: float) -> None:
        """Wait until `simulated_seconds` of simulated time have passed."""
        await asyncio.sleep(
            simulated_seconds / self.speed if self.speed else simulated_seconds
        )


def iso(moment: datetime) -> str:
    """The protocol's timestamp form: ISO 8601, UTC, with a Z."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
