"""The people of an emulated Q.rad's room: who is in, and what they do to it.

Nothing here is written through the protocol: the room's use and the unit's own
draws say who is in at any hour; emulator events (docs/protocol.md 7) put people
in, or open a window; and in the demo (`--household`) phones and laptops come
and go on their own, which the tests leave to their events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
import random

from .charger import Charger
from .physics import RoomUse, people_at
from .wifi import AccessPoint

# About twice an hour, someone comes or goes (a lively household).
COMINGS_AND_GOINGS_S = 1800


@dataclass(kw_only=True)
class Household:
    """Who is in the room, whether a window is open, and their comings and goings."""

    # What the room is for, and the key of its own draws of who is in.
    use: RoomUse
    people_key: str
    # The unit's own draws, shared with the rest of it so the whole stays seeded.
    rng: random.Random
    # Whether phones and laptops come and go by themselves (the demo).
    lively: bool = False
    # People put in by an emulator event, over what the room's use says.
    people_override: int | None = None
    # An open window (emulator event): extra loss until then, unit time.
    window_open_until: datetime | None = None

    def people_in(self, moment: datetime) -> int:
        """People in the room at `moment`, as its use and its own draws have it."""
        return people_at(moment, self.people_key, self.use)

    def people(self, now: datetime) -> int:
        """People in the room now: as an event put them, or as the hour has it."""
        if self.people_override is not None:
            return self.people_override
        return self.people_in(now)

    def window_open(self, now: datetime) -> bool:
        """Whether a window of the room is open at `now`."""
        return self.window_open_until is not None and now < self.window_open_until

    def open_window(self, minutes: float, now: datetime) -> None:
        """Open a window of the room for `minutes` of unit time (0 closes it)."""
        self.window_open_until = (
            now + timedelta(minutes=minutes) if minutes > 0 else None
        )

    def live(
        self, seconds: float, now: datetime, wifi: AccessPoint, charger: Charger
    ) -> None:
        """People come and go: a Wi-Fi client joins or leaves, a phone is put down."""
        if not self.lively:
            return
        if self.rng.random() >= min(seconds / COMINGS_AND_GOINGS_S, 1.0):
            return
        if len(wifi.clients) > 1 and self.rng.random() < 0.5:
            wifi.leave(self.rng.choice(wifi.clients).mac)
        else:
            wifi.join(None, None, now)
        charger.phone_present = self.rng.random() < 0.5
