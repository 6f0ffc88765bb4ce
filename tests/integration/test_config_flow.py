"""Adding a Q.rad: discovered or by address, then paired by a press of its button."""

from __future__ import annotations

import asyncio
from ipaddress import ip_address

from homeassistant.config_entries import SOURCE_USER, SOURCE_ZEROCONF
from homeassistant.const import CONF_HOST, CONF_PORT, CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import (
    EVENT_DATA_ENTRY_FLOW_PROGRESSED,
    FlowResultType,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.qrad import config_flow
from custom_components.qrad.const import CONF_PRESET_TEMPERATURES, CONF_SERIAL, DOMAIN
from simulator.device.server import UnitServer
from simulator.device.unit import API_VERSION

from .waiting import wait_for


def announcement(unit: UnitServer, **txt: str) -> ZeroconfServiceInfo:
    """What Home Assistant's zeroconf hands over for the unit's announcement."""
    identity = unit.unit.identity
    properties = {
        "serial": identity.serial,
        "model": identity.model,
        "fw": identity.firmware,
        "api": str(API_VERSION),
        "mac": identity.mac,
        "name": unit.unit.name,
        "path": "/api/v1",
    } | txt
    return ZeroconfServiceInfo(
        ip_address=ip_address(unit.host),
        ip_addresses=[ip_address(unit.host)],
        port=unit.port,
        hostname=f"qrad-{identity.serial.lower()}.local.",
        type="_qrad._tcp.local.",
        name=f"{unit.unit.name}._qrad._tcp.local.",
        properties=properties,
    )


async def finish_pairing(hass: HomeAssistant, flow_id: str, unit: UnitServer) -> dict:
    """Press the unit's button while the flow waits, and let the flow go on."""
    unit.press_button()
    await hass.async_block_till_done()
    return await hass.config_entries.flow.async_configure(flow_id)


async def test_manual_entry_and_pairing(
    hass: HomeAssistant, qrad_unit: UnitServer
) -> None:
    """An address, a button press, and the Q.rad is set up with its token."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: qrad_unit.host, CONF_PORT: qrad_unit.port}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["progress_action"] == "press_button"
    result = await finish_pairing(hass, result["flow_id"], qrad_unit)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Living room"
    assert result["result"].unique_id == qrad_unit.unit.identity.serial
    token = result["data"][CONF_TOKEN]
    assert token in qrad_unit.tokens.values()


async def test_unreachable_address(hass: HomeAssistant, qrad_unit: UnitServer) -> None:
    """A wrong address says it cannot connect and lets the user correct it."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    await qrad_unit.stop()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: qrad_unit.host, CONF_PORT: qrad_unit.port}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}


async def test_discovered_qrad_is_confirmed_then_paired(
    hass: HomeAssistant, qrad_unit: UnitServer
) -> None:
    """A discovered Q.rad shows its name and model before pairing."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=announcement(qrad_unit)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zeroconf_confirm"
    assert result["description_placeholders"]["name"] == "Living room"
    assert result["description_placeholders"]["model"] == "Q.rad 3"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    result = await finish_pairing(hass, result["flow_id"], qrad_unit)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_a_button_pressed_before_pairs_without_waiting(
    hass: HomeAssistant, qrad_unit: UnitServer
) -> None:
    """The window already open: the first request gets the token, no spinner."""
    qrad_unit.press_button()
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=announcement(qrad_unit)
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_a_press_the_dialog_missed_is_announced_until_it_looks(
    hass: HomeAssistant, qrad_unit: UnitServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dialog that was not listening yet when pairing ended still moves on.

    Home Assistant 2026.10's dialog listens for the end of a wait only once it
    has drawn the spinner; the flow says it again until the dialog has looked.
    """
    monkeypatch.setattr(config_flow, "REMINDER_DELAYS_S", (0.05,) * 8)
    progressed = async_capture_events(hass, EVENT_DATA_ENTRY_FLOW_PROGRESSED)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=announcement(qrad_unit)
    )
    flow_id = result["flow_id"]
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    qrad_unit.press_button()
    await wait_for(hass, lambda: len(progressed) >= 3)
    assert {event.data["flow_id"] for event in progressed} == {flow_id}
    result = await hass.config_entries.flow.async_configure(flow_id)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    said = len(progressed)
    await asyncio.sleep(0.3)
    assert len(progressed) == said


async def test_no_button_press_times_out_and_can_retry(
    hass: HomeAssistant, qrad_unit: UnitServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a press the user is told so, and can try again."""
    monkeypatch.setattr(config_flow, "PAIRING_TIMEOUT_S", 0.2)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: qrad_unit.host, CONF_PORT: qrad_unit.port}
    )
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "pair_timeout"
    assert result["errors"] == {"base": "pairing_timeout"}
    monkeypatch.setattr(config_flow, "PAIRING_TIMEOUT_S", 30)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    result = await finish_pairing(hass, result["flow_id"], qrad_unit)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_rediscovery_at_a_new_address_updates_the_entry(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A known Q.rad announced elsewhere moves its entry instead of adding one."""
    mock_config_entry.add_to_hass(hass)
    moved = announcement(qrad_unit)
    moved.port = qrad_unit.port + 1
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=moved
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert mock_config_entry.data[CONF_PORT] == qrad_unit.port + 1
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


@pytest.mark.parametrize(
    ("txt", "reason"),
    [
        ({"api": "2"}, "unsupported_version"),
        ({"serial": "nope"}, "invalid_discovery_info"),
    ],
)
async def test_unusable_announcements_are_dropped(
    hass: HomeAssistant, qrad_unit: UnitServer, txt: dict[str, str], reason: str
) -> None:
    """An announcement of an unsupported or malformed unit offers nothing."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=announcement(qrad_unit, **txt)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason


async def test_reauth_pairs_again(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """After a revoked token, one more press gives the entry a working token."""
    old_token = init_integration.data[CONF_TOKEN]
    await qrad_unit.revoke_tokens()
    result = await init_integration.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    result = await finish_pairing(hass, result["flow_id"], qrad_unit)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert init_integration.data[CONF_TOKEN] != old_token
    assert init_integration.data[CONF_TOKEN] in qrad_unit.tokens.values()


async def test_reconfigure_refuses_another_device(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """The same Q.rad at the same address is accepted; the serial must match."""
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: qrad_unit.host, CONF_PORT: qrad_unit.port}
    )
    assert result["reason"] == "reconfigure_successful"
    hass.config_entries.async_update_entry(
        init_integration,
        unique_id="QR3-000000",
        data={**init_integration.data, CONF_SERIAL: "QR3-000000"},
    )
    result = await init_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: qrad_unit.host, CONF_PORT: qrad_unit.port}
    )
    assert result["reason"] == "different_device"


async def test_options_write_preset_temperatures(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """Preset temperatures chosen in the options end up on the Q.rad."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["presets", "clients", "window", "schedule"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "presets"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"comfort": 21.0, "eco": 16.5, "away": 14.0, "frost_protection": 7.0},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options[CONF_PRESET_TEMPERATURES]["eco"] == 16.5
    assert qrad_unit.unit.thermostat.preset_temperatures["eco"] == 16.5
    assert qrad_unit.unit.thermostat.preset_temperatures["comfort"] == 21.0
