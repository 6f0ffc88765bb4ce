"""The cloud section of an emulated Q.rad: its link, and the control it last applied.

The unit's MQTT link (cloudlink.py) hands it the controller's control messages
(docs/protocol.md 6.5); while one is valid the cloud is in charge of the power,
and the state object's `cloud` section (4) says how the link stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from simulator.clock import iso

from .physics import MAX_POWER_W


@dataclass(kw_only=True)
class CloudControl:
    """The last control message, and whether the unit's link is up."""

    # The power the controller asks for, its jobs, and its GFLOPS for that power
    # (slower steps do more per watt).
    power_w: float | None = None
    jobs: int = 0
    gflops: float | None = None
    valid_until: datetime | None = None
    last_control_at: datetime | None = None
    connected: bool = False
    # Set once the operator linked the unit to its broker.
    broker_url: str | None = None

    def apply(
        self,
        power_target_w: float,
        jobs: int,
        valid_for_s: float,
        issued_at: datetime,
        gflops: float | None = None,
    ) -> bool:
        """Apply a control message unless it is older than the last one."""
        if self.last_control_at is not None and issued_at < self.last_control_at:
            return False
        self.gflops = gflops
        self.power_w = min(max(power_target_w, 0.0), MAX_POWER_W)
        self.jobs = max(jobs, 0)
        self.last_control_at = issued_at
        self.valid_until = issued_at + timedelta(seconds=valid_for_s)
        return True

    def in_charge(self, now: datetime) -> bool:
        """Whether a control message is valid at `now`."""
        return self.valid_until is not None and now <= self.valid_until

    def wire(self, account: str) -> dict[str, Any]:
        """`cloud` of the state object, for a unit registered to `account`."""
        return {
            "connected": self.connected,
            # A unit only knows its account once the operator linked it.
            "account": account if self.broker_url else None,
            "broker": self.broker_url,
            "last_control_at": iso(self.last_control_at)
            if self.last_control_at
            else None,
        }
