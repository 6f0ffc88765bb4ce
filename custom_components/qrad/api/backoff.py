"""The one reconnect backoff, of the event stream and of the cloud link alike."""

from __future__ import annotations

from collections.abc import Iterator
import dataclasses
import random


@dataclasses.dataclass(frozen=True, kw_only=True)
class Backoff:
    """Waits that double from `start_s` to `cap_s`, each within ±`jitter`.

    The jitter keeps the Q.rads of a building, or the homes of a broker, from
    all coming back in the same second after an outage.
    """

    start_s: float
    cap_s: float
    jitter: float = 0.2

    def delays(self) -> Iterator[float]:
        """The wait before each new attempt; start again with a new iterator."""
        delay = self.start_s
        while True:
            yield delay * random.uniform(1 - self.jitter, 1 + self.jitter)  # noqa: S311
            delay = min(delay * 2, self.cap_s)


# Section 5: from 1 s doubling to 60 s, ±20 %.
RECONNECT_BACKOFF = Backoff(start_s=1.0, cap_s=60.0)
