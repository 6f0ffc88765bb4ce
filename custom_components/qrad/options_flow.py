"""Options of a Q.rad and of a cloud account.

A Q.rad's: its presets, Wi-Fi clients, window detection and schedule; an
account's: how long the cloud may be gone before a repair issue.

Saved options reload the entry (OptionsFlowWithReload), so every part of the
integration reads them once, at setup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.config_entries import ConfigFlowResult, OptionsFlowWithReload
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    EntityWithDeviceFilterSelectorConfig,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio as vol

from .const import (
    CONF_ACCOUNT,
    CONF_CLOUD_ISSUE_MINUTES,
    CONF_PRESET_TEMPERATURES,
    CONF_SCHEDULE,
    CONF_SCHEDULE_OFF,
    CONF_SCHEDULE_ON,
    CONF_SERIAL,
    CONF_STALE_DAYS,
    CONF_TRACK_CLIENTS,
    CONF_TRACKED_CLIENTS,
    CONF_WINDOW_DROP,
    CONF_WINDOW_MINUTES,
    CONF_WINDOW_PAUSE,
    CONF_WINDOW_SENSOR,
    DEFAULT_CLOUD_ISSUE_MINUTES,
    DEFAULT_SCHEDULE_OFF,
    DEFAULT_SCHEDULE_ON,
    DEFAULT_STALE_DAYS,
    DEFAULT_WINDOW_DROP,
    DEFAULT_WINDOW_MINUTES,
    DEFAULT_WINDOW_PAUSE,
    TRACK_MODES,
    TRACK_NONE,
    TRACK_SELECTED,
)
from .device_tracker import async_known_clients
from .form_selectors import PRESETS, number_box, preset

DEFAULT_PRESET_TEMPERATURES = {
    "comfort": 20.0,
    "eco": 17.5,
    "away": 15.0,
    "frost_protection": 7.0,
}


class QradOptionsFlow(OptionsFlowWithReload):
    """Options of a Q.rad: presets, Wi-Fi clients, window detection, schedule."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Which options to change."""
        return self.async_show_menu(
            step_id="init",
            menu_options=["presets", "clients", "window", "schedule"],
        )

    def _save(self, changes: Mapping[str, Any]) -> ConfigFlowResult:
        """Keep the other steps' options; drop the ones cleared (None)."""
        options = {**self.config_entry.options, **changes}
        return self.async_create_entry(
            data={key: value for key, value in options.items() if value is not None}
        )

    async def async_step_presets(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the preset temperatures; the integration writes them to the Q.rad."""
        if user_input is not None:
            return self._save({CONF_PRESET_TEMPERATURES: dict(user_input)})
        current = self.config_entry.options.get(
            CONF_PRESET_TEMPERATURES, DEFAULT_PRESET_TEMPERATURES
        )
        selector = number_box(5, 30, 0.5, "°C")
        return self.async_show_form(
            step_id="presets",
            data_schema=vol.Schema(
                {
                    vol.Required(name, default=current[name]): selector
                    for name in PRESETS
                }
            ),
        )

    async def async_step_clients(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Track no Wi-Fi client, the selected ones, or all; and forget stale ones."""
        options = self.config_entry.options
        errors: dict[str, str] = {}
        if user_input is not None:
            selected = list(user_input.get(CONF_TRACKED_CLIENTS, []))
            if user_input[CONF_TRACK_CLIENTS] == TRACK_SELECTED and not selected:
                errors[CONF_TRACKED_CLIENTS] = "no_client_selected"
            else:
                return self._save(
                    {
                        CONF_TRACK_CLIENTS: user_input[CONF_TRACK_CLIENTS],
                        CONF_TRACKED_CLIENTS: selected,
                        CONF_STALE_DAYS: int(user_input[CONF_STALE_DAYS]),
                    }
                )
        serial = self.config_entry.data[CONF_SERIAL]
        known = async_known_clients(self.hass, self.config_entry, serial)
        for mac in options.get(CONF_TRACKED_CLIENTS, []):
            known.setdefault(mac, None)
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_TRACK_CLIENTS,
                    default=options.get(CONF_TRACK_CLIENTS, TRACK_NONE),
                ): SelectSelector(
                    SelectSelectorConfig(
                        options=list(TRACK_MODES),
                        translation_key=CONF_TRACK_CLIENTS,
                        mode=SelectSelectorMode.LIST,
                    )
                ),
                vol.Optional(
                    CONF_TRACKED_CLIENTS,
                    default=list(options.get(CONF_TRACKED_CLIENTS, [])),
                ): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(
                                value=mac, label=f"{name} ({mac})" if name else mac
                            )
                            for mac, name in sorted(
                                known.items(), key=lambda item: (item[1] or "", item[0])
                            )
                        ],
                        multiple=True,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Required(
                    CONF_STALE_DAYS,
                    default=options.get(CONF_STALE_DAYS, DEFAULT_STALE_DAYS),
                ): number_box(1, 365, 1, "d"),
            }
        )
        return self.async_show_form(
            step_id="clients",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
        )

    async def async_step_window(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """What drop of the room temperature means an open window; how long to pause."""
        if user_input is not None:
            return self._save(
                {
                    CONF_WINDOW_DROP: round(float(user_input[CONF_WINDOW_DROP]), 1),
                    CONF_WINDOW_MINUTES: int(user_input[CONF_WINDOW_MINUTES]),
                    CONF_WINDOW_PAUSE: int(user_input[CONF_WINDOW_PAUSE]),
                    CONF_WINDOW_SENSOR: user_input.get(CONF_WINDOW_SENSOR) or None,
                }
            )
        options = self.config_entry.options
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_WINDOW_DROP,
                    default=options.get(CONF_WINDOW_DROP, DEFAULT_WINDOW_DROP),
                ): number_box(0.3, 5.0, 0.1, "°C"),
                vol.Required(
                    CONF_WINDOW_MINUTES,
                    default=options.get(CONF_WINDOW_MINUTES, DEFAULT_WINDOW_MINUTES),
                ): number_box(1, 30, 1, "min"),
                vol.Required(
                    CONF_WINDOW_PAUSE,
                    default=options.get(CONF_WINDOW_PAUSE, DEFAULT_WINDOW_PAUSE),
                ): number_box(1, 120, 1, "min"),
                vol.Optional(CONF_WINDOW_SENSOR): EntitySelector(
                    EntitySelectorConfig(
                        filter=EntityWithDeviceFilterSelectorConfig(
                            domain="binary_sensor",
                            device_class=[
                                BinarySensorDeviceClass.WINDOW,
                                BinarySensorDeviceClass.DOOR,
                            ],
                        )
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id="window",
            data_schema=self.add_suggested_values_to_schema(
                schema, {CONF_WINDOW_SENSOR: options.get(CONF_WINDOW_SENSOR)}
            ),
        )

    async def async_step_schedule(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A schedule helper the Q.rad follows, and what its periods mean."""
        if user_input is not None:
            return self._save(
                {
                    CONF_SCHEDULE: user_input.get(CONF_SCHEDULE) or None,
                    CONF_SCHEDULE_ON: user_input[CONF_SCHEDULE_ON],
                    CONF_SCHEDULE_OFF: user_input[CONF_SCHEDULE_OFF],
                }
            )
        options = self.config_entry.options
        schema = vol.Schema(
            {
                vol.Optional(CONF_SCHEDULE): EntitySelector(
                    EntitySelectorConfig(domain="schedule")
                ),
                vol.Required(
                    CONF_SCHEDULE_ON,
                    default=options.get(CONF_SCHEDULE_ON, DEFAULT_SCHEDULE_ON),
                ): preset("schedule_preset"),
                vol.Required(
                    CONF_SCHEDULE_OFF,
                    default=options.get(CONF_SCHEDULE_OFF, DEFAULT_SCHEDULE_OFF),
                ): preset("schedule_preset"),
            }
        )
        return self.async_show_form(
            step_id="schedule",
            data_schema=self.add_suggested_values_to_schema(
                schema, {CONF_SCHEDULE: options.get(CONF_SCHEDULE)}
            ),
        )


class QradAccountOptionsFlow(OptionsFlowWithReload):
    """Options of a cloud account: how long the cloud may be gone unannounced."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """An account has one set of options (a Q.rad's `init` is a menu)."""
        return await self.async_step_cloud(user_input)

    async def async_step_cloud(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The delay before the "cloud unreachable" repair issue."""
        if user_input is not None:
            return self.async_create_entry(
                data={
                    CONF_CLOUD_ISSUE_MINUTES: int(user_input[CONF_CLOUD_ISSUE_MINUTES])
                }
            )
        current = self.config_entry.options.get(
            CONF_CLOUD_ISSUE_MINUTES, DEFAULT_CLOUD_ISSUE_MINUTES
        )
        minutes = number_box(1, 1440, 1, "min")
        return self.async_show_form(
            step_id="cloud",
            data_schema=vol.Schema(
                {vol.Required(CONF_CLOUD_ISSUE_MINUTES, default=current): minutes}
            ),
            description_placeholders={"account": self.config_entry.data[CONF_ACCOUNT]},
        )
