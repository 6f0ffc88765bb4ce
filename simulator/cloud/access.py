"""Who may connect and which topics each identity may use (docs/protocol.md 6.7).

One set of rules, applied by the embedded broker directly and written out as a
mosquitto password file and ACL for the external one, so that both brokers
enforce the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
import hmac
import json
from pathlib import Path

from simulator.identity import Identity, account_secret, controller_secret

CONTROLLER = "controller"
PREFIX = ("qrad", "v1")

MOSQUITTO_ACL = """\
user controller
topic readwrite qrad/v1/#

pattern write qrad/v1/acct/%u/+/setpoint
pattern write qrad/v1/acct/%u/+/plan
pattern read qrad/v1/acct/%u/#
pattern read qrad/v1/cloud/availability
pattern write qrad/v1/dev/%u/telemetry
pattern write qrad/v1/dev/%u/availability
pattern read qrad/v1/dev/%u/control
"""


@dataclass(frozen=True, kw_only=True)
class Directory:
    """The operator's registry: accounts, units (and their owners), the controller."""

    accounts: dict[str, str]
    units: dict[str, tuple[str, str]]
    controller_secret: str

    @classmethod
    def for_fleet(cls, identities: Iterable[Identity], seed: int) -> Directory:
        """The registry of an emulated fleet: secrets derived from the seed."""
        identities = list(identities)
        return cls(
            accounts={
                identity.account: account_secret(seed, identity.account)
                for identity in identities
            },
            units={
                identity.serial: (identity.account, identity.cloud_secret)
                for identity in identities
            },
            controller_secret=controller_secret(seed),
        )

    @property
    def owners(self) -> dict[str, str]:
        """Serial to account."""
        return {serial: account for serial, (account, _) in self.units.items()}

    def secret(self, username: str) -> str | None:
        """The password of `username`, if it exists."""
        if username == CONTROLLER:
            return self.controller_secret
        if username in self.accounts:
            return self.accounts[username]
        unit = self.units.get(username)
        return unit[1] if unit else None

    def save(self, path: Path) -> None:
        """Write the registry as JSON (for a controller in another process)."""
        path.write_text(
            json.dumps(
                {
                    "accounts": self.accounts,
                    "units": {s: list(v) for s, v in self.units.items()},
                    "controller_secret": self.controller_secret,
                },
                indent=2,
            )
        )

    @classmethod
    def load(cls, path: Path) -> Directory:
        """Read a registry written by `save`."""
        data = json.loads(path.read_text())
        return cls(
            accounts=dict(data["accounts"]),
            units={s: (v[0], v[1]) for s, v in data["units"].items()},
            controller_secret=data["controller_secret"],
        )


@dataclass(frozen=True)
class AccessRules:
    """Authentication and topic ACL of 6.7 for one directory."""

    directory: Directory

    def authenticate(self, username: str | None, password: str | None) -> bool:
        """True when `username` exists and `password` is its secret."""
        if not username or password is None:
            return False
        secret = self.directory.secret(username)
        return secret is not None and hmac.compare_digest(
            secret.encode(), password.encode()
        )

    def may_publish(self, username: str, topic: str) -> bool:
        """Whether `username` may publish on the (wildcard-free) `topic`."""
        levels = topic.split("/")
        if "+" in levels or "#" in levels or tuple(levels[:2]) != PREFIX:
            return False
        if username == CONTROLLER:
            return True
        rest = levels[2:]
        if username in self.directory.accounts:
            return (
                len(rest) == 4
                and rest[:2] == ["acct", username]
                and rest[3] in {"setpoint", "plan"}
            )
        if username in self.directory.units:
            return (
                len(rest) == 3
                and rest[:2] == ["dev", username]
                and rest[2]
                in {
                    "telemetry",
                    "availability",
                }
            )
        return False

    def may_subscribe(self, username: str, topic_filter: str) -> bool:
        """Whether `username` may subscribe to `topic_filter` (all it can match)."""
        levels = topic_filter.split("/")
        if username == CONTROLLER:
            return tuple(levels[:2]) == PREFIX
        if username in self.directory.accounts:
            if topic_filter == "qrad/v1/cloud/availability":
                return True
            head = ["qrad", "v1", "acct", username]
            return levels[:4] == head and len(levels) > 4
        if username in self.directory.units:
            return topic_filter == f"qrad/v1/dev/{username}/control"
        return False

    def may_receive(self, username: str, topic: str) -> bool:
        """Whether `username` may be sent a message published on `topic`."""
        return self.may_subscribe(username, topic)
