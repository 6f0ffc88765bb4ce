"""Every entity of a Q.rad as Home Assistant shows it, against syrupy snapshots.

The emulated Q.rad's clock is frozen on a winter morning, so that the room,
its air and its meters read the same on every run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from simulator.fleet import Fleet, FleetConfig, lan_pool
from simulator.testing import free_port

WINTER_MORNING = datetime(2026, 1, 15, 8, 0, tzinfo=UTC).timestamp()


@pytest.fixture
async def qrad_fleet() -> AsyncIterator[Fleet]:
    """One emulated Q.rad whose time stands still."""
    base_port = 8080 if lan_pool() else free_port()
    fleet = Fleet(
        FleetConfig(
            count=1,
            base_port=base_port,
            speed=0,
            time_origin=WINTER_MORNING,
            announce=False,
        )
    )
    async with fleet:
        yield fleet


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots of states and registry entries, without their random ids."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.mark.parametrize("domain", ["climate", "sensor", "binary_sensor", "number"])
async def test_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    domain: str,
) -> None:
    """Names, classes, units, categories and states of each platform's entities."""
    entries = [
        entry
        for entry in er.async_entries_for_config_entry(
            entity_registry, init_integration.entry_id
        )
        if entry.domain == domain and entry.disabled_by is None
    ]
    assert entries
    for entry in sorted(entries, key=lambda entry: entry.entity_id):
        assert entry == snapshot(name=f"{entry.entity_id}-entry")
        assert hass.states.get(entry.entity_id) == snapshot(
            name=f"{entry.entity_id}-state"
        )
