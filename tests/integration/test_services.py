"""The qrad.boost action: a boost of a Q.rad, by its thermostat or its device."""

from __future__ import annotations

from homeassistant.components.climate import ATTR_PRESET_MODE
from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID, ATTR_TEMPERATURE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qrad.const import DOMAIN
from simulator.device.server import UnitServer

CLIMATE = "climate.living_room"


async def boost(hass: HomeAssistant, **data: object) -> None:
    """Call qrad.boost and wait for it."""
    await hass.services.async_call(DOMAIN, "boost", data, blocking=True)


async def test_boost_a_thermostat(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """The Q.rad holds its target plus delta, in the boost preset."""
    unit = qrad_unit.unit
    await boost(hass, **{ATTR_ENTITY_ID: CLIMATE, "minutes": 30, "delta": 1.5})
    assert unit.thermostat.preset == "boost"
    assert unit.thermostat.target == 21.5
    assert unit.thermostat.boost_until is not None
    state = hass.states.get(CLIMATE)
    assert state is not None
    assert state.attributes[ATTR_PRESET_MODE] == "boost"
    assert state.attributes[ATTR_TEMPERATURE] == 21.5


async def test_boost_a_device_with_the_default_delta(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A device as target boosts its thermostat; the delta defaults to 2 °C."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, qrad_unit.unit.identity.serial), init_integration.entry_id
    )
    assert device is not None
    await boost(hass, **{ATTR_DEVICE_ID: device.id, "minutes": 10})
    assert qrad_unit.unit.thermostat.preset == "boost"
    assert qrad_unit.unit.thermostat.target == 22.0


async def test_delta_off_the_half_degree_steps_is_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A delta the Q.rad cannot take is refused in words, before asking it."""
    with pytest.raises(ServiceValidationError) as refused:
        await boost(hass, **{ATTR_ENTITY_ID: CLIMATE, "minutes": 30, "delta": 0.7})
    assert refused.value.translation_key == "invalid_boost_delta"
    assert str(refused.value) == (
        "A boost raises the target by 0.5 to 5 °C in steps of 0.5 °C;"
        " 0.7 °C is not one of them"  # Home Assistant drops the final stop.
    )
    assert qrad_unit.unit.thermostat.preset == "comfort"


@pytest.mark.parametrize(
    "data",
    [
        {"minutes": 0},
        {"minutes": 241},
        {"minutes": 30, "delta": 5.5},
        {"minutes": 30, "delta": 0},
        {"delta": 1.0},
    ],
)
async def test_out_of_range_is_refused(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    qrad_unit: UnitServer,
    data: dict[str, float],
) -> None:
    """Minutes 1-240 and delta 0.5-5.0 are checked by the action's schema."""
    with pytest.raises(vol.Invalid):
        await boost(hass, **{ATTR_ENTITY_ID: CLIMATE, **data})
    assert qrad_unit.unit.thermostat.preset == "comfort"


async def test_action_exists_without_any_qrad(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """The action is the integration's, not an entry's: it stays after unloading."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert hass.services.has_service(DOMAIN, "boost")
    # The unloaded Q.rad's thermostat is not an entity any more: nothing to boost.
    await boost(hass, **{ATTR_ENTITY_ID: CLIMATE, "minutes": 30})
    assert qrad_unit.unit.thermostat.preset == "comfort"
