"""Adding a Q.rad that cannot be used: every refusal is a translated message."""

from __future__ import annotations

from dataclasses import replace

from homeassistant.config_entries import SOURCE_USER, SOURCE_ZEROCONF
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.qrad.const import DOMAIN
from simulator.device.server import UnitServer

from .test_config_flow import announcement


async def enter_address(hass: HomeAssistant, unit: UnitServer) -> dict:
    """The manual step, filled with the unit's address."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: unit.host, CONF_PORT: unit.port}
    )


async def test_an_old_firmware_is_refused_by_hand(
    hass: HomeAssistant, qrad_unit: UnitServer
) -> None:
    """Firmware older than 3.0.0: the user is told to update, nothing is added."""
    model = qrad_unit.unit
    model.identity = replace(model.identity, firmware="2.9.0")
    result = await enter_address(hass, qrad_unit)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unsupported_version"}


async def test_a_discovered_qrad_that_does_not_answer_is_not_offered(
    hass: HomeAssistant, qrad_unit: UnitServer
) -> None:
    """Announced but unreachable (a stale announcement): no flow is left behind."""
    info = announcement(qrad_unit)
    await qrad_unit.stop()
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"
