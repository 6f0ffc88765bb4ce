"""The cloud account in Home Assistant: asked once, setpoints sent, outages shown."""

from __future__ import annotations

import json
import logging

from homeassistant.components.climate import (
    ATTR_HVAC_MODE,
    DOMAIN as CLIMATE_DOMAIN,
    SERVICE_SET_HVAC_MODE,
    SERVICE_SET_TEMPERATURE,
    HVACMode,
)
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_TEMPERATURE,
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_TOKEN,
    CONF_VERIFY_SSL,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest

from custom_components.qrad import account
from custom_components.qrad.const import (
    ACCOUNT_UNIQUE_ID_PREFIX,
    CONF_ACCOUNT,
    CONF_BROKER,
    CONF_CA_CERTIFICATE,
    CONF_KIND,
    DOMAIN,
    KIND_ACCOUNT,
)
from custom_components.qrad.diagnostics import async_get_config_entry_diagnostics
from simulator.cloud.mosquitto import Mosquitto
from simulator.device.server import UnitServer
from simulator.testing import CloudWorld

from .waiting import wait_for


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Raise the outage issue after 0.2 s."""
    monkeypatch.setattr(account, "CLOUD_ISSUE_DELAY_S", 0.2)


def credentials(world: CloudWorld, unit: UnitServer, secret: str | None = None) -> dict:
    """What the owner types in the cloud account step."""
    _account_id, right = world.account_of(unit)
    assert world.endpoint.ca is not None
    return {
        CONF_BROKER: world.endpoint.url,
        CONF_PASSWORD: secret or right,
        CONF_VERIFY_SSL: True,
        CONF_CA_CERTIFICATE: world.endpoint.ca.read_text(),
    }


async def pair(hass: HomeAssistant, unit: UnitServer) -> dict:
    """Add a Q.rad by address and press its button; the result after pairing."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: unit.host, CONF_PORT: unit.port}
    )
    unit.press_button()
    await hass.async_block_till_done()
    return await hass.config_entries.flow.async_configure(result["flow_id"])


async def pair_with_account(
    hass: HomeAssistant, world: CloudWorld, unit: UnitServer
) -> ConfigEntry:
    """Pair a Q.rad whose account is not set up yet, giving the account's secret."""
    result = await pair(hass, unit)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(world, unit)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    return result["result"]


def climate_entity(hass: HomeAssistant, unit: UnitServer) -> str:
    """The thermostat entity of `unit`."""
    entity_id = er.async_get(hass).async_get_entity_id(
        CLIMATE_DOMAIN, DOMAIN, f"{unit.unit.identity.serial}_thermostat"
    )
    assert entity_id is not None
    return entity_id


async def test_account_asked_once_and_setpoints_reach_the_cloud(
    hass: HomeAssistant, cloud_world: CloudWorld
) -> None:
    """First Q.rad asks for the account; the second does not; setpoints flow."""
    first, second = cloud_world.fleet.units[0], cloud_world.fleet.units[1]
    account_id, _ = cloud_world.account_of(first)
    assert cloud_world.account_of(second)[0] == account_id

    result = await pair(hass, first)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "cloud_account"
    assert result["description_placeholders"]["account"] == account_id
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(cloud_world, first, secret="wrong")
    )
    assert result["errors"] == {"base": "invalid_cloud_auth"}
    broken = credentials(cloud_world, first) | {CONF_BROKER: "http://nowhere"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], broken)
    assert result["errors"] == {"base": "invalid_broker"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials(cloud_world, first)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    account_entry = hass.config_entries.async_entry_for_domain_unique_id(
        DOMAIN, ACCOUNT_UNIQUE_ID_PREFIX + account_id
    )
    assert account_entry is not None
    assert account_entry.data[CONF_KIND] == KIND_ACCOUNT
    assert account_entry.state is ConfigEntryState.LOADED
    assert result["result"].data[CONF_ACCOUNT] == account_id

    result = await pair(hass, second)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert len(hass.config_entries.async_entries(DOMAIN)) == 3

    ledger = cloud_world.controller.scheduler.ledgers[first.unit.identity.serial]
    entity_id = climate_entity(hass, first)
    await hass.services.async_call(
        CLIMATE_DOMAIN,
        SERVICE_SET_TEMPERATURE,
        {ATTR_ENTITY_ID: entity_id, ATTR_TEMPERATURE: 27.5},
        blocking=True,
    )
    assert first.unit.thermostat.target == 27.5
    await wait_for(
        hass,
        lambda: (
            ledger.setpoint is not None and ledger.setpoint.target_temperature == 27.5
        ),
    )
    assert ledger.setpoint is not None
    assert ledger.setpoint.origin == "automation"
    await wait_for(hass, lambda: first.unit.power_w == 500.0)

    source = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{first.unit.identity.serial}_heat_source"
    )
    assert source is not None
    await wait_for(hass, lambda: hass.states.get(source).state in {"compute", "filler"})

    await hass.services.async_call(
        CLIMATE_DOMAIN,
        SERVICE_SET_HVAC_MODE,
        {ATTR_ENTITY_ID: entity_id, ATTR_HVAC_MODE: HVACMode.OFF},
        blocking=True,
    )
    await wait_for(
        hass, lambda: ledger.setpoint is not None and ledger.setpoint.hvac_mode == "off"
    )
    await wait_for(hass, lambda: hass.states.get(source).state == "off")


async def test_a_change_made_on_the_qrad_reaches_the_cloud_once(
    hass: HomeAssistant, cloud_world: CloudWorld
) -> None:
    """The unit's own change goes to the cloud as `device`; its meters do not."""
    unit = cloud_world.fleet.units[0]
    entry = await pair_with_account(hass, cloud_world, unit)
    coordinator = entry.runtime_data
    ledger = cloud_world.controller.scheduler.ledgers[unit.unit.identity.serial]
    await wait_for(hass, lambda: ledger.setpoint is not None)
    assert ledger.setpoint is not None
    first_seq = ledger.setpoint.seq

    unit.unit.thermostat.target = 23.5
    await unit.publish()
    await wait_for(
        hass,
        lambda: ledger.setpoint is not None and ledger.setpoint.seq > first_seq,
    )
    assert ledger.setpoint.target_temperature == 23.5
    assert ledger.setpoint.origin == "device"

    pushes = 0

    def count() -> None:
        nonlocal pushes
        pushes += 1

    entry.async_on_unload(coordinator.async_add_listener(count))
    await wait_for(hass, lambda: pushes >= 3)
    assert ledger.setpoint.seq == first_seq + 1


async def test_no_secret_reaches_diagnostics_or_logs(
    hass: HomeAssistant, cloud_world: CloudWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """The account secret, the device token and identifiers are never shown."""
    unit = cloud_world.fleet.units[0]
    account_id, secret = cloud_world.account_of(unit)
    caplog.set_level(logging.DEBUG)
    entry = await pair_with_account(hass, cloud_world, unit)
    await hass.services.async_call(
        CLIMATE_DOMAIN,
        SERVICE_SET_TEMPERATURE,
        {ATTR_ENTITY_ID: climate_entity(hass, unit), ATTR_TEMPERATURE: 22.0},
        blocking=True,
    )
    coordinator = entry.runtime_data
    hub = account.async_get_hub(hass, account_id)
    await wait_for(
        hass,
        lambda: coordinator.data.cloud_status is not None and not hub.outbox.pending,
    )
    token = entry.data[CONF_TOKEN]
    shown = [
        json.dumps(await async_get_config_entry_diagnostics(hass, entry), default=str)
        for entry in hass.config_entries.async_entries(DOMAIN)
    ]
    assert len(shown) == 2
    for text in [*shown, caplog.text]:
        assert secret not in text
        assert token not in text
    for text in shown:
        assert unit.unit.identity.serial not in text
        assert f'"{account_id}"' not in text
    assert '"setpoints_waiting": 0' in "".join(shown)


async def test_cloud_outage_raises_an_issue_and_loses_nothing(
    hass: HomeAssistant, cloud_world: CloudWorld
) -> None:
    """While the broker is down setpoints wait, an issue says so, then all is sent."""
    assert isinstance(cloud_world.broker, Mosquitto)
    unit = cloud_world.fleet.units[0]
    account_id, _ = cloud_world.account_of(unit)
    await pair_with_account(hass, cloud_world, unit)
    entity_id = climate_entity(hass, unit)
    hub = account.async_get_hub(hass, account_id)
    await wait_for(hass, lambda: hub.connected and not hub.outbox.pending)

    await cloud_world.broker.kill()
    await wait_for(hass, lambda: not hub.connected)
    for target in (18.0, 18.5, 19.5):
        await hass.services.async_call(
            CLIMATE_DOMAIN,
            SERVICE_SET_TEMPERATURE,
            {ATTR_ENTITY_ID: entity_id, ATTR_TEMPERATURE: target},
            blocking=True,
        )
    issues = ir.async_get(hass)
    await wait_for(
        hass, lambda: issues.async_get_issue(DOMAIN, hub.issue_id) is not None
    )

    await cloud_world.broker.start()
    ledger = cloud_world.controller.scheduler.ledgers[unit.unit.identity.serial]
    await wait_for(
        hass,
        lambda: (
            ledger.setpoint is not None and ledger.setpoint.target_temperature == 19.5
        ),
        limit=60,
    )
    await wait_for(hass, lambda: issues.async_get_issue(DOMAIN, hub.issue_id) is None)


async def test_rejected_cloud_secret_asks_to_log_in_again(
    hass: HomeAssistant, cloud_world: CloudWorld
) -> None:
    """A secret the cloud no longer accepts starts reauthentication of the account."""
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        MockConfigEntry,
    )

    unit = cloud_world.fleet.units[0]
    account_id, secret = cloud_world.account_of(unit)
    data = {CONF_KIND: KIND_ACCOUNT, CONF_ACCOUNT: account_id} | credentials(
        cloud_world, unit, secret="revoked"
    )
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=ACCOUNT_UNIQUE_ID_PREFIX + account_id, data=data
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["step_id"] == "reauth_account"
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_PASSWORD: "still-wrong"}
    )
    assert result["errors"] == {"base": "invalid_cloud_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_PASSWORD: secret}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_PASSWORD] == secret
