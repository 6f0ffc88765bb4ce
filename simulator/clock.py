"""Simulated time, so that a day of heating can pass in minutes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import time


class Clock:
    """Simulated time running `speed` times faster than real time (1 = real time)."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        """Start now (or at `start`), running at `speed`."""
        if speed < 0:
            raise ValueError("speed must not be negative")
        self.speed = speed
        self._start = start or datetime.now(UTC)
        self._real_start = time.monotonic()

    def monotonic(self) -> float:
        """Simulated seconds since the clock started."""
        return (time.monotonic() - self._real_start) * self.speed

    def now(self) -> datetime:
        """The simulated date and time, in UTC."""
        return self._start + timedelta(seconds=self.monotonic())

    async def sleep(self, simulated_seconds: float) -> None:
        """Wait until `simulated_seconds` of simulated time have passed."""
        await asyncio.sleep(
            simulated_seconds / self.speed if self.speed else simulated_seconds
        )


def iso(moment: datetime) -> str:
    """The protocol's timestamp form: ISO 8601, UTC, with a Z."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
