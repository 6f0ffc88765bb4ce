"""Deterministic identities of emulated Q.rads: the same seed gives the same fleet."""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import random

ROOMS = (
    "Living room",
    "Bedroom",
    "Office",
    "Kitchen",
    "Kids room",
    "Guest room",
    "Dining room",
    "Study",
)
MODEL = "Q.rad 3"
FIRMWARE = "3.4.1"


@dataclass(frozen=True, kw_only=True)
class Identity:
    """What a Q.rad is born with."""

    serial: str
    mac: str
    name: str
    model: str
    firmware: str
    cloud_secret: str
    floor_area_m2: float
    account: str


def make_identities(count: int, seed: int, accounts: int = 1) -> list[Identity]:
    """`count` distinct identities, derived only from `seed`.

    Units are registered to `accounts` homeowner accounts in contiguous blocks
    (a building of flats: the first units to `home-1`, the next to `home-2`...).
    """
    if not 1 <= accounts <= max(count, 1):
        raise ValueError("accounts must be between 1 and the number of units")
    rng = random.Random(f"identities-{seed}")
    serials: set[int] = set()
    identities = []
    for index in range(count):
        number = rng.randrange(1 << 24)
        while number in serials:
            number = rng.randrange(1 << 24)
        serials.add(number)
        name = ROOMS[index % len(ROOMS)]
        if index >= len(ROOMS):
            name = f"{name} {index // len(ROOMS) + 1}"
        identities.append(
            Identity(
                serial=f"QR3-{number:06X}",
                mac="02:51:a3:"
                + ":".join(f"{(number >> s) & 0xFF:02x}" for s in (16, 8, 0)),
                name=name,
                model=MODEL,
                firmware=FIRMWARE,
                cloud_secret=f"{rng.getrandbits(128):032x}",
                floor_area_m2=round(rng.uniform(14.0, 27.0), 1),
                account=f"home-{index * accounts // count + 1}",
            )
        )
    return identities


def account_secret(seed: int, account: str) -> str:
    """The secret the operator gave the homeowner of `account` (from the seed)."""
    return hashlib.sha256(f"account-{seed}-{account}".encode()).hexdigest()[:24]


def controller_secret(seed: int) -> str:
    """The operator's own secret for its controllers."""
    return hashlib.sha256(f"controller-{seed}".encode()).hexdigest()[:32]
