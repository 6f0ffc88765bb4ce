"""Deterministic identities of emulated Q.rads: the same seed gives the same fleet."""

from __future__ import annotations

from dataclasses import dataclass
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


def make_identities(count: int, seed: int) -> list[Identity]:
    """`count` distinct identities, derived only from `seed`."""
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
            )
        )
    return identities
