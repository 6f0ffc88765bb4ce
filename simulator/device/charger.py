"""The charger section of an emulated Q.rad: the phone pad on top of the unit.

The owner switches it (docs/protocol.md 3.2, `PATCH /charger`); a phone is put
on it or taken off by an emulator event or the household.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .validation import boolean, check_fields

CHARGING_W = 7.5


@dataclass(kw_only=True)
class Charger:
    """Whether it charges, and whether a phone lies on it."""

    enabled: bool = True
    # Reported even while disabled: the pad still sees the phone.
    phone_present: bool = False

    def patch(self, body: Mapping[str, Any]) -> None:
        """Charger on/off."""
        check_fields(body, {"enabled"})
        self.enabled = boolean(body, "enabled")

    def wire(self) -> dict[str, Any]:
        """`charger` of the state object."""
        charging = self.phone_present and self.enabled
        return {
            "enabled": self.enabled,
            "phone_present": self.phone_present,
            "charging": charging,
            "power_w": CHARGING_W if charging else 0.0,
        }
