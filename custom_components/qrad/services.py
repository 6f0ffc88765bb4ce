"""Actions of the Q.rad integration that no entity feature covers."""

from __future__ import annotations

from datetime import datetime
import math

from homeassistant.components.climate import DOMAIN as CLIMATE_DOMAIN
from homeassistant.const import ATTR_TEMPERATURE
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, service
from homeassistant.helpers.typing import VolDictType
from homeassistant.util import dt as dt_util
import probatio as vol

from .api import Preset
from .api.cloud_models import Origin, PlannedChange, PlanSource
from .const import DOMAIN
from .entity import QradEntity
from .helpers import qrad_command

SERVICE_BOOST = "boost"
ATTR_MINUTES = "minutes"
ATTR_DELTA = "delta"
# POST /thermostat/boost (docs/protocol.md, 3.2).
BOOST_MINUTES = (1, 240)
BOOST_DELTA = (0.5, 5.0)
BOOST_DELTA_STEP = 0.5
DEFAULT_BOOST_DELTA = 2.0

SERVICE_SET_PLAN = "set_plan"
ATTR_CHANGES = "changes"
ATTR_AT = "at"
ATTR_PRESET = "preset"
# The presets a plan may name: those with a temperature of their own.
PLAN_PRESETS = (Preset.COMFORT, Preset.ECO, Preset.AWAY, Preset.FROST_PROTECTION)
PLAN_CHANGE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_AT): cv.datetime,
        vol.Exclusive(ATTR_TEMPERATURE, "target"): vol.All(
            vol.Coerce(float), vol.Range(min=5.0, max=30.0)
        ),
        vol.Exclusive(ATTR_PRESET, "target"): vol.In([str(p) for p in PLAN_PRESETS]),
    }
)
SET_PLAN_SCHEMA: VolDictType = {
    vol.Required(ATTR_CHANGES): vol.All(cv.ensure_list, [PLAN_CHANGE_SCHEMA]),
}

BOOST_SCHEMA: VolDictType = {
    vol.Required(ATTR_MINUTES): vol.All(
        vol.Coerce(int), vol.Range(min=BOOST_MINUTES[0], max=BOOST_MINUTES[1])
    ),
    vol.Optional(ATTR_DELTA, default=DEFAULT_BOOST_DELTA): vol.All(
        vol.Coerce(float), vol.Range(min=BOOST_DELTA[0], max=BOOST_DELTA[1])
    ),
}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions (once, whatever the number of Q.rads)."""
    service.async_register_platform_entity_service(
        hass,
        DOMAIN,
        SERVICE_BOOST,
        entity_domain=CLIMATE_DOMAIN,
        schema=BOOST_SCHEMA,
        func=_async_boost,
    )
    service.async_register_platform_entity_service(
        hass,
        DOMAIN,
        SERVICE_SET_PLAN,
        entity_domain=CLIMATE_DOMAIN,
        schema=SET_PLAN_SCHEMA,
        func=_async_set_plan,
    )


async def _async_boost(entity: QradEntity, call: ServiceCall) -> None:
    """Raise a Q.rad's target for a while, then let it return to what it was."""
    minutes: int = call.data[ATTR_MINUTES]
    delta: float = call.data[ATTR_DELTA]
    if not math.isclose(
        delta / BOOST_DELTA_STEP, round(delta / BOOST_DELTA_STEP), abs_tol=1e-9
    ):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_boost_delta",
            translation_placeholders={
                "delta": f"{delta:g}",
                "step": f"{BOOST_DELTA_STEP:g}",
                "min": f"{BOOST_DELTA[0]:g}",
                "max": f"{BOOST_DELTA[1]:g}",
            },
        )
    origin = Origin.USER if call.context.user_id is not None else Origin.AUTOMATION
    await _async_send_boost(entity, minutes, round(delta, 1), origin)


@qrad_command
async def _async_send_boost(
    entity: QradEntity, minutes: int, delta: float, origin: Origin
) -> None:
    await entity.coordinator.async_boost(minutes, delta, origin)


async def _async_set_plan(entity: QradEntity, call: ServiceCall) -> None:
    """Send the Q.rad's upcoming changes to the cloud, which heats ahead of them."""
    coordinator = entity.coordinator
    presets = coordinator.data.state.thermostat.preset_temperatures
    changes = []
    for change in call.data[ATTR_CHANGES]:
        if ATTR_TEMPERATURE in change:
            target = float(change[ATTR_TEMPERATURE])
        elif ATTR_PRESET in change:
            target = presets[Preset(change[ATTR_PRESET])]
        else:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="plan_change_without_target"
            )
        preset = Preset(change[ATTR_PRESET]) if ATTR_PRESET in change else None
        changes.append(PlannedChange(_utc(change[ATTR_AT]), target, preset))
    try:
        plan = await coordinator.async_send_plan(tuple(changes), PlanSource.SERVICE)
    except ValueError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_plan",
            translation_placeholders={"error": str(err)},
        ) from err
    if plan is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="plan_without_cloud",
            translation_placeholders={"name": coordinator.config_entry.title},
        )


def _utc(moment: datetime) -> datetime:
    """A moment given without a time zone is in Home Assistant's own."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(moment)
