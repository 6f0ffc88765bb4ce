"""Home Assistant with the qrad integration, against an emulated Q.rad."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from unittest.mock import PropertyMock, patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT, CONF_TOKEN
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qrad import config_flow
from custom_components.qrad.const import CONF_SERIAL, CONF_TOKEN_ID, DOMAIN
from simulator.device.server import UnitServer


@pytest.fixture(autouse=True)
def _custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/qrad."""


@pytest.fixture(autouse=True)
def _fast_pairing_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ask a Q.rad for its token every 50 ms instead of every 1.5 s."""
    monkeypatch.setattr(config_flow, "PAIRING_POLL_S", 0.05)


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Every entity registered enabled, as if its owner had enabled it."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def broker_kind() -> str:
    """Home Assistant's side is tested against the reference broker, mosquitto."""
    return "mosquitto"


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """The options of the Q.rad's entry: none chosen yet."""
    return {}


@pytest.fixture
def mock_config_entry(
    qrad_unit: UnitServer, qrad_token: str, entry_options: dict[str, Any]
) -> MockConfigEntry:
    """The entry a finished config flow makes for the emulated unit."""
    identity = qrad_unit.unit.identity
    return MockConfigEntry(
        domain=DOMAIN,
        title=qrad_unit.unit.name,
        unique_id=identity.serial,
        data={
            CONF_HOST: qrad_unit.host,
            CONF_PORT: qrad_unit.port,
            CONF_SERIAL: identity.serial,
            CONF_TOKEN: qrad_token,
            CONF_TOKEN_ID: next(iter(qrad_unit.tokens)),
        },
        options=entry_options,
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """The integration set up with the emulated unit (unloaded before it stops)."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    yield mock_config_entry
    if mock_config_entry.state is ConfigEntryState.LOADED:
        await hass.config_entries.async_unload(mock_config_entry.entry_id)
        await hass.async_block_till_done()
