"""Turns client errors of a command into translated Home Assistant errors."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Concatenate

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .api import (
    QradAuthenticationError,
    QradBusyError,
    QradConnectionError,
    QradError,
    QradRequestError,
)
from .const import DOMAIN
from .entity import QradEntity


def qrad_command[EntityT: QradEntity, **P](
    func: Callable[Concatenate[EntityT, P], Coroutine[Any, Any, None]],
) -> Callable[Concatenate[EntityT, P], Coroutine[Any, Any, None]]:
    """Run a command on a Q.rad; say clearly why it failed.

    A lost connection also marks the Q.rad unavailable until it answers again;
    a rejected token starts reauthentication.
    """

    async def handler(self: EntityT, /, *args: P.args, **kwargs: P.kwargs) -> None:
        coordinator = self.coordinator
        try:
            await func(self, *args, **kwargs)
        except QradRequestError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_request",
                translation_placeholders={"error": str(err)},
            ) from err
        except QradBusyError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="busy",
                translation_placeholders={"name": coordinator.config_entry.title},
            ) from err
        except QradAuthenticationError as err:
            coordinator.config_entry.async_start_reauth(coordinator.hass)
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="token_rejected"
            ) from err
        except QradConnectionError as err:
            coordinator.last_update_success = False
            coordinator.async_update_listeners()
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": str(err)},
            ) from err
        except QradError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="invalid_response",
                translation_placeholders={"error": str(err)},
            ) from err

    return handler
