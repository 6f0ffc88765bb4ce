"""Actions of the Q.rad integration that no entity feature covers."""

from __future__ import annotations

import math

from homeassistant.components.climate import DOMAIN as CLIMATE_DOMAIN
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import service
from homeassistant.helpers.typing import VolDictType
import probatio as vol

from .api.cloud_models import Origin
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
