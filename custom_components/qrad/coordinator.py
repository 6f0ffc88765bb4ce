"""One coordinator per Q.rad: its pushed state and its commands."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PORT, CONF_TOKEN
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util.hass_dict import HassKey

from .account import (
    AccountHub,
    QradAccountEntry,
    async_get_hub,
    link_signal,
    status_signal,
)
from .api import (
    Charger,
    GroupPeer,
    HvacMode,
    Power,
    Preset,
    QradAuthenticationError,
    QradBusyError,
    QradDevice,
    QradError,
    QradState,
    QradUnsupportedError,
    Speaker,
    SpeakerGroup,
    Thermostat,
    Wifi,
)
from .api.cloud_models import (
    ComputeStatus,
    Heating,
    Origin,
    Plan,
    PlannedChange,
    PlanSource,
)
from .cold_room import ColdRoomWatch
from .const import (
    CONF_ACCOUNT,
    CONF_PRESET_TEMPERATURES,
    CONF_SERIAL,
    DOMAIN,
    FALLBACK_SCAN_INTERVAL,
    LOGGER,
)
from .memory import QradMemory
from .window import WindowGuard
from .writer import SetpointWriter

type QradConfigEntry = ConfigEntry[QradCoordinator]
# Either kind of the domain's entries: a Q.rad's, or a cloud account's.
type QradAnyEntry = QradConfigEntry | QradAccountEntry

# Requests and stream openings to the Q.rads at once, all of them together.
OPENINGS_AT_ONCE = 16
DATA_OPENINGS: HassKey[asyncio.Semaphore] = HassKey(f"{DOMAIN}_openings")


@dataclass(frozen=True, kw_only=True)
class QradData:
    """What the entities show: the Q.rad's own state, and the cloud's word on it."""

    state: QradState
    # The cloud controller's latest status of this Q.rad (None: not yet, or no
    # account); `state.compute` is what the Q.rad itself computes.
    cloud_status: ComputeStatus | None = None


class QradCoordinator(DataUpdateCoordinator[QradData]):
    """Keeps a Q.rad's state current from its push; polls only while that is down."""

    config_entry: QradConfigEntry

    def __init__(self, hass: HomeAssistant, entry: QradConfigEntry) -> None:
        """Create the device client on Home Assistant's shared session."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=FALLBACK_SCAN_INTERVAL,
        )
        self.serial: str = entry.data[CONF_SERIAL]
        self.device = QradDevice(
            entry.data[CONF_HOST],
            entry.data[CONF_PORT],
            token=entry.data[CONF_TOKEN],
            session=async_get_clientsession(hass),
            openings=hass.data.setdefault(
                DATA_OPENINGS, asyncio.Semaphore(OPENINGS_AT_ONCE)
            ),
        )
        self.push_connected = False
        self.memory = QradMemory(hass, entry.entry_id)
        account: str | None = entry.data.get(CONF_ACCOUNT)
        self.hub: AccountHub | None = async_get_hub(hass, account) if account else None
        self._forwarding = asyncio.Lock()
        self._commands = 0
        self.writer = SetpointWriter(
            device=self.device,
            on_thermostat=lambda thermostat: self.async_apply(thermostat=thermostat),
            on_power=lambda power: self.async_apply(power=power),
            forward=self.async_forward,
            on_busy=self._async_writing,
        )
        self.window = WindowGuard(
            hass,
            entry,
            self.memory,
            mode=lambda: self.data.state.thermostat.hvac_mode,
            writing=lambda: self.writing,
            write_mode=self._async_write_mode,
            changed=self.async_update_listeners,
        )
        self.cold = ColdRoomWatch(hass, entry)

    def settings(self) -> dict[str, Any]:
        """What the owner set on this Q.rad beyond its setpoint (for diagnostics)."""
        pause = self.window.pause
        return {
            "power_limit_w": self.data.state.power.power_limit_w,
            "window_detection": self.window.enabled,
            "window_contact": self.window.contact is not None,
            "window_pause": pause.to_dict() if pause else None,
            "cold_room": str(self.cold.reason) if self.cold.reason else None,
        }

    @property
    def cloud_connected(self) -> bool:
        """Whether this Q.rad's account link to the cloud is up."""
        return self.hub is not None and self.hub.connected

    @override
    async def _async_update_data(self) -> QradData:
        """Read the whole state (first refresh, and while the push is down)."""
        try:
            state = await self.device.state()
        except QradAuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="token_rejected"
            ) from err
        except QradUnsupportedError as err:
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key="unsupported_version",
                translation_placeholders={"error": str(err)},
            ) from err
        except QradError as err:
            if self.last_update_success:
                # Once, at info level as the quality scale asks (log-when-unavailable),
                # instead of the base class's error: a Q.rad that reboots, is busy
                # or unplugged is no fault, and its entities say it is unavailable.
                LOGGER.info("%s is unreachable: %s", self.config_entry.title, err)
                self.last_update_success = False
            if isinstance(err, QradBusyError):
                # Home Assistant waits as long as the Q.rad asked before trying
                # again (2026.11 also when the first refresh of a start meets it).
                raise UpdateFailed(
                    translation_domain=DOMAIN,
                    translation_key="busy",
                    translation_placeholders={"name": self.config_entry.title},
                    retry_after=err.retry_after,
                ) from err
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                translation_placeholders={"error": str(err)},
            ) from err
        return self._data(state)

    def _data(self, state: QradState) -> QradData:
        """The entities' data: this state, with the cloud's latest status."""
        status = self.hub.status(self.serial) if self.hub is not None else None
        return QradData(state=state, cloud_status=status)

    async def async_apply_options(self) -> None:
        """Write the preset temperatures chosen in the options to the Q.rad."""
        wanted = self.config_entry.options.get(CONF_PRESET_TEMPERATURES)
        if not wanted:
            return
        presets = {Preset(name): float(value) for name, value in wanted.items()}
        if presets != self.data.state.thermostat.preset_temperatures:
            try:
                thermostat = await self.device.set_thermostat(
                    preset_temperatures=presets
                )
            except QradError as err:
                LOGGER.warning(
                    "Could not write preset temperatures to %s: %s", self.serial, err
                )
                return
            self.data = self._data(replace(self.data.state, thermostat=thermostat))

    # Push.

    async def async_start_watching(self) -> None:
        """Watch the room: an open window, a room that stays cold."""
        await self.window.async_start()
        self.config_entry.async_on_unload(self.window.async_stop)
        self.config_entry.async_on_unload(self.cold.async_stop)
        self.config_entry.async_on_unload(self.async_add_listener(self._async_observe))
        self._async_observe()

    @callback
    def _async_observe(self) -> None:
        state = self.data.state
        self.window.async_observe(state)
        self.cold.async_observe(
            state, self.data.cloud_status, paused=self.window.is_open
        )

    @callback
    def async_start_push(self) -> None:
        """Listen to the Q.rad's WebSocket and its account's cloud status."""
        self.config_entry.async_create_background_task(
            self.hass, self._async_listen(), f"{DOMAIN}_{self.serial}_push"
        )
        if self.hub is not None:
            for signal in (
                status_signal(self.hub.account, self.serial),
                link_signal(self.hub.account),
            ):
                self.config_entry.async_on_unload(
                    async_dispatcher_connect(self.hass, signal, self._async_cloud_news)
                )
            self._async_forward_later(Origin.DEVICE)

    @callback
    def _async_cloud_news(self) -> None:
        """The controller spoke of this Q.rad, or the account's link came or went."""
        self.data = self._data(self.data.state)
        self.async_update_listeners()

    async def _async_listen(self) -> None:
        try:
            await self.device.listen(self._on_push_state, self._on_push_connection)
        except QradAuthenticationError:
            self.config_entry.async_start_reauth(self.hass)

    @callback
    def _on_push_state(self, state: QradState) -> None:
        if not self.last_update_success:
            LOGGER.info("%s is reachable again", self.config_entry.title)
        self.async_set_updated_data(self._data(state))
        if not self._commanding and self._cloud_lacks(state):
            # A change made on the Q.rad itself (its schedule, its buttons).
            self._async_forward_later(Origin.DEVICE)

    def _cloud_lacks(self, state: QradState) -> bool:
        """Whether the Q.rad's setpoint differs from the latest the cloud was sent.

        Compared with the cloud's, not with the previous push: a change first
        seen by a poll, or during a command of ours, still goes out.
        """
        if self.hub is None:
            return False
        latest = self.hub.latest(self.serial)
        return latest is None or _heating(state) != latest.heating

    @callback
    def _on_push_connection(self, connected: bool) -> None:  # noqa: FBT001
        """Poll only while the push is down; look at once when it drops."""
        self.push_connected = connected
        if connected:
            self.update_interval = None
            return
        LOGGER.debug("Push from %s dropped; polling until it is back", self.serial)
        self.update_interval = FALLBACK_SCAN_INTERVAL
        self.config_entry.async_create_background_task(
            self.hass, self.async_request_refresh(), f"{DOMAIN}_{self.serial}_refresh"
        )

    # Commands.

    async def _async_write_mode(self, mode: HvacMode) -> None:
        """A mode set by an automation of ours (a window pause and its end)."""
        await self.writer.request(hvac_mode=mode, origin=Origin.AUTOMATION)

    @property
    def writing(self) -> bool:
        """Whether a setpoint write of ours is running (its pushes are ours)."""
        return self._commands > 0

    @property
    def _commanding(self) -> bool:
        return self.writing

    @callback
    def _async_writing(self, busy: bool) -> None:  # noqa: FBT001
        self._commands += 1 if busy else -1

    async def async_set_thermostat(
        self,
        *,
        target_temperature: float | None = None,
        hvac_mode: HvacMode | None = None,
        preset: Preset | None = None,
        origin: Origin = Origin.USER,
    ) -> None:
        """Change the Q.rad's setpoint, show it at once, and forward it to the cloud.

        Requests that come faster than the Q.rad answers are coalesced by the
        writer (writer.py): the latest value is always the one written last.
        During a window pause, a mode is kept for its end (window.py).
        """
        if hvac_mode is not None and self.window.is_open:
            await self.window.async_keep_mode(hvac_mode)
            hvac_mode = None
            if target_temperature is None and preset is None:
                return
        await self.writer.request(
            target_temperature=target_temperature,
            hvac_mode=hvac_mode,
            preset=preset,
            origin=origin,
        )

    async def async_set_power_limit(
        self, power_limit_w: float, origin: Origin = Origin.USER
    ) -> None:
        """Cap the power of the Q.rad; the cloud hears of the new cap too."""
        await self.writer.request(power_limit_w=power_limit_w, origin=origin)

    async def async_boost(
        self, minutes: int, delta: float, origin: Origin = Origin.USER
    ) -> None:
        """Raise the target by delta for a while; the cloud hears of it too."""
        self._commands += 1
        try:
            async with self.writer.lock:
                thermostat = await self.device.boost(minutes, delta)
            self.async_apply(thermostat=thermostat)
            await self.async_forward(origin)
        finally:
            self._commands -= 1

    async def async_set_speaker(
        self,
        *,
        power: bool | None = None,
        volume: float | None = None,
        muted: bool | None = None,
        source: str | None = None,
    ) -> None:
        """Switch the speaker, or change its volume, mute or source."""
        self.async_apply(
            speaker=await self.device.set_speaker(
                power=power, volume=volume, muted=muted, source=source
            )
        )

    async def async_play(
        self, url: str, *, title: str | None = None, announce: bool = False
    ) -> None:
        """Play a URL, or announce it over what plays."""
        self.async_apply(
            speaker=await self.device.play(url, title=title, announce=announce)
        )

    async def async_pause(self) -> None:
        """Pause what plays."""
        self.async_apply(speaker=await self.device.pause())

    async def async_resume(self) -> None:
        """Resume what was paused."""
        self.async_apply(speaker=await self.device.resume())

    async def async_stop_playback(self) -> None:
        """Stop and unload what plays."""
        self.async_apply(speaker=await self.device.stop())

    @property
    def peer(self) -> GroupPeer:
        """How the other Q.rads of a speaker group reach this one."""
        return GroupPeer(
            serial=self.serial, host=self.device.host, port=self.device.port
        )

    @property
    def account(self) -> str | None:
        """The cloud account this Q.rad belongs to (None: none), which is its home."""
        return self.hub.account if self.hub is not None else None

    async def async_lead_group(self, members: list[GroupPeer]) -> SpeakerGroup | None:
        """Lead a speaker group of these Q.rads (none: dissolve it)."""
        speaker = await self.device.lead_speaker_group(members)
        self.async_apply(speaker=speaker)
        return speaker.group

    async def async_follow_group(
        self, leader: GroupPeer | None, group_id: str | None = None
    ) -> None:
        """Play along with `leader`'s group; None leaves the group."""
        self.async_apply(
            speaker=await self.device.follow_speaker_group(leader, group_id)
        )

    async def async_set_wifi(self, *, enabled: bool) -> None:
        """Switch the access point (switching it off disconnects its clients)."""
        self.async_apply(wifi=await self.device.set_wifi(enabled=enabled))

    async def async_set_charger(self, *, enabled: bool) -> None:
        """Switch the induction charger."""
        self.async_apply(charger=await self.device.set_charger(enabled=enabled))

    @callback
    def async_apply(
        self,
        *,
        thermostat: Thermostat | None = None,
        power: Power | None = None,
        speaker: Speaker | None = None,
        wifi: Wifi | None = None,
        charger: Charger | None = None,
    ) -> None:
        """Show a command's answer at once; the push that follows agrees with it."""
        sections = {
            "thermostat": thermostat,
            "power": power,
            "speaker": speaker,
            "wifi": wifi,
            "charger": charger,
        }
        changes: dict[str, Any] = {
            name: value for name, value in sections.items() if value is not None
        }
        self.async_set_updated_data(self._data(replace(self.data.state, **changes)))

    # Forwarding to the cloud.

    @property
    def plan(self) -> Plan | None:
        """The last plan sent for this Q.rad in this run."""
        return self.hub.plans.get(self.serial) if self.hub is not None else None

    async def async_send_plan(
        self, changes: tuple[PlannedChange, ...], source: PlanSource
    ) -> Plan | None:
        """Send the Q.rad's upcoming changes to the cloud (None without an account).

        ValueError when the changes break docs/protocol.md 6.11.
        """
        if self.hub is None:
            return None
        plan = await self.hub.async_submit_plan(self.serial, changes, source=source)
        # The thermostat shows the plan's next change.
        self.async_update_listeners()
        return plan

    @callback
    def _async_forward_later(self, origin: Origin) -> None:
        if self.hub is not None:
            self.config_entry.async_create_background_task(
                self.hass, self.async_forward(origin), f"{DOMAIN}_{self.serial}_forward"
            )

    async def async_forward(self, origin: Origin) -> None:
        """Send the Q.rad's setpoint to the cloud unless it already knows it."""
        if self.hub is None:
            return
        async with self._forwarding:
            await self.hub.async_load()
            state = self.data.state
            if not self._cloud_lacks(state):
                return
            if (heating := _heating(state)) is None:
                # A newer firmware's mode or preset: the cloud cannot read it
                # either, and keeps the last setpoint it was sent.
                LOGGER.debug("%s: setpoint not forwarded, unknown mode", self.serial)
                return
            await self.hub.async_submit(self.serial, heating, origin)


def _heating(state: QradState) -> Heating | None:
    """What a setpoint to the cloud asks, as the Q.rad's state has it.

    None when the Q.rad's mode or preset is one the cloud cannot read.
    """
    thermostat = state.thermostat
    if thermostat.hvac_mode is None or thermostat.preset is None:
        return None
    return Heating(
        target_temperature=thermostat.target_temperature,
        hvac_mode=thermostat.hvac_mode,
        preset=thermostat.preset,
        power_limit_w=state.power.power_limit_w,
    )
