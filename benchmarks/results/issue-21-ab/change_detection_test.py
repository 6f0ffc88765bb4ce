"""Not part of the suite: CPU of one coordinator update with nothing changed.

Copy into tests/integration/ of a tree and run it with `pytest -s`.
"""

from __future__ import annotations

import json
import os
import time

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import async_get_platforms
import pytest

pytestmark = pytest.mark.usefixtures("socket_enabled")

ROUNDS = 7
UPDATES = 300


async def test_cpu_per_update(hass: HomeAssistant, init_integration: object) -> None:
    entities = [
        entity
        for platform in async_get_platforms(hass, "qrad")
        for entity in platform.entities.values()
    ]
    coordinators = {id(c): c for e in entities if (c := getattr(e, "coordinator", None))}
    enabled = [e for e in entities if e.enabled and e.hass is not None]
    best = []
    for _ in range(ROUNDS):
        began = time.process_time()
        for _ in range(UPDATES):
            for coordinator in coordinators.values():
                coordinator.async_update_listeners()
        await hass.async_block_till_done()
        best.append((time.process_time() - began) / UPDATES * 1e6)
    out = {
        "tree": os.getcwd(),
        "entities": len(entities),
        "enabled": len(enabled),
        "coordinators": len(coordinators),
        "us_per_update": sorted(round(b, 1) for b in best),
        "us_per_entity_write": round(min(best) / len(enabled), 2),
    }
    print(json.dumps(out))  # noqa: T201 - run with pytest -s
