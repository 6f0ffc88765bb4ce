"""The repair issues an entry raises, tied to that entry where Home Assistant can.

Home Assistant 2026.11 ties an issue to its config entry: hidden while the
entry is disabled, deleted with it. 2026.10, the floor (README, Requirements),
has no such tie, so removing an entry deletes its issues here as well.
"""

from __future__ import annotations

import inspect
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN

_TIED_TO_ENTRIES = (
    "config_entry_id" in inspect.signature(ir.async_create_issue).parameters
)


def cold_room_issue_id(serial: str) -> str:
    """The issue of one Q.rad's room that stays cold."""
    return f"cold_room_{serial}"


def cloud_issue_id(account: str) -> str:
    """The issue of one account's unreachable cloud."""
    return f"cloud_unreachable_{account}"


@callback
def async_raise_issue(
    hass: HomeAssistant,
    entry_id: str,
    issue_id: str,
    translation_key: str,
    placeholders: dict[str, str],
) -> None:
    """Raise (or update) a warning the owner cannot fix but should know of."""
    tie: dict[str, Any] = {"config_entry_id": entry_id} if _TIED_TO_ENTRIES else {}
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=translation_key,
        translation_placeholders=placeholders,
        **tie,
    )


@callback
def async_delete_issue(hass: HomeAssistant, issue_id: str) -> None:
    """The reason is gone, or so is the entry."""
    ir.async_delete_issue(hass, DOMAIN, issue_id)
