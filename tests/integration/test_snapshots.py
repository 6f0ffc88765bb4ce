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

from custom_components.qrad.binary_sensor import BINARY_SENSORS
from custom_components.qrad.sensor import CLOUD_SENSORS, SENSORS
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
    """Names, classes, units, categories and states of each platform's entities.

    Every entity is registered, the disabled ones too (their entries say so);
    only the enabled ones have a state.
    """
    entries = entries_of(entity_registry, init_integration, domain)
    assert entries
    for entry in entries:
        assert entry == snapshot(name=f"{entry.entity_id}-entry")
        if entry.disabled_by is None:
            assert hass.states.get(entry.entity_id) == snapshot(
                name=f"{entry.entity_id}-state"
            )


# What a Q.rad registers disabled; last boot left out: it is the moment the
# Q.rad booted, read from Home Assistant's clock, which is not frozen like the
# Q.rad's, so it changes from run to run.
DISABLED_BY_DEFAULT = {
    description.key
    for description in (*SENSORS, *CLOUD_SENSORS, *BINARY_SENSORS)
    if description.entity_registry_enabled_default is False
} - {"uptime"}


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("domain", ["sensor", "binary_sensor"])
async def test_entities_enabled_by_their_owner(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    domain: str,
) -> None:
    """The entities disabled by default read as well as the others once enabled."""
    enabled_on_request = [
        entry
        for entry in entries_of(entity_registry, init_integration, domain)
        if entry.unique_id.split("_", 1)[1] in DISABLED_BY_DEFAULT
    ]
    assert enabled_on_request
    for entry in enabled_on_request:
        assert entry.disabled_by is None
        assert hass.states.get(entry.entity_id) == snapshot(
            name=f"{entry.entity_id}-state"
        )


def entries_of(
    registry: er.EntityRegistry, entry: MockConfigEntry, domain: str
) -> list[er.RegistryEntry]:
    """The registry entries of one platform of the Q.rad, by entity id."""
    return sorted(
        (
            registry_entry
            for registry_entry in er.async_entries_for_config_entry(
                registry, entry.entry_id
            )
            if registry_entry.domain == domain
        ),
        key=lambda registry_entry: registry_entry.entity_id,
    )
