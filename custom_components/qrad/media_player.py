"""The Q.rad's speaker: music, radio and Home Assistant's announcements.

Speakers of one home (the Q.rads of one cloud account, or all Q.rads without
one) group for synchronised playback: `media_player.join` on a speaker makes
it the leader and the others its members; they play what it plays, where it
plays it, announcements included, each at its own volume. `media_player.unjoin`
takes a member out (it falls silent), or on the leader dissolves the group.
Playing, pausing or stopping a member itself takes it out of its group first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, override

from homeassistant.components import media_source
from homeassistant.components.media_player import (
    ATTR_MEDIA_ANNOUNCE,
    ATTR_MEDIA_EXTRA,
    DOMAIN as MEDIA_PLAYER_DOMAIN,
    BrowseMedia,
    MediaPlayerDeviceClass,
    MediaPlayerEntity,
    MediaPlayerEntityDescription,
    MediaPlayerEntityFeature,
    MediaPlayerState,
    MediaType,
    async_process_play_media_url,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from yarl import URL

from .api import GroupPeer, GroupRole, Media, Speaker, SpeakerState
from .const import DOMAIN
from .coordinator import QradConfigEntry, QradCoordinator
from .entity import QradEntity
from .helpers import qrad_command

# One command at a time per Q.rad: volume steps read the volume the last one set.
PARALLEL_UPDATES = 1

TO_HA_STATE = {
    SpeakerState.OFF: MediaPlayerState.OFF,
    SpeakerState.IDLE: MediaPlayerState.IDLE,
    SpeakerState.PLAYING: MediaPlayerState.PLAYING,
    SpeakerState.PAUSED: MediaPlayerState.PAUSED,
}
# Limits of POST /speaker/play (docs/protocol.md, 3.2).
MAX_TITLE = 128
# Home Assistant signs the media URLs it serves; the signature stays off the state.
SIGNATURE_PARAMETER = "authSig"
SPEAKER = MediaPlayerEntityDescription(
    key="speaker",
    translation_key="speaker",
    device_class=MediaPlayerDeviceClass.SPEAKER,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: QradConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One speaker per Q.rad."""
    async_add_entities([QradSpeaker(entry.runtime_data)])


class QradSpeaker(QradEntity, MediaPlayerEntity):
    """The Q.rad's Bluetooth speaker, as Home Assistant's media player."""

    _attr_supported_features = (
        MediaPlayerEntityFeature.TURN_ON
        | MediaPlayerEntityFeature.TURN_OFF
        | MediaPlayerEntityFeature.VOLUME_SET
        | MediaPlayerEntityFeature.VOLUME_STEP
        | MediaPlayerEntityFeature.VOLUME_MUTE
        | MediaPlayerEntityFeature.SELECT_SOURCE
        | MediaPlayerEntityFeature.PLAY_MEDIA
        | MediaPlayerEntityFeature.PLAY
        | MediaPlayerEntityFeature.PAUSE
        | MediaPlayerEntityFeature.STOP
        | MediaPlayerEntityFeature.BROWSE_MEDIA
        | MediaPlayerEntityFeature.MEDIA_ANNOUNCE
        | MediaPlayerEntityFeature.GROUPING
    )

    def __init__(self, coordinator: QradCoordinator) -> None:
        """Describe the speaker of one Q.rad."""
        super().__init__(coordinator, SPEAKER)

    @property
    def _speaker(self) -> Speaker:
        return self.coordinator.data.state.speaker

    @override
    def _shown(self) -> tuple[Speaker, list[str]]:
        """The speaker, and its group as the leader tells it."""
        return self._speaker, self.group_members

    @property
    def _media(self) -> Media | None:
        return self._speaker.media

    @property
    @override
    def state(self) -> MediaPlayerState | None:
        state = self._speaker.state
        return TO_HA_STATE[state] if state is not None else None

    @property
    @override
    def volume_level(self) -> float:
        return self._speaker.volume

    @property
    @override
    def is_volume_muted(self) -> bool:
        return self._speaker.muted

    @property
    @override
    def source(self) -> str:
        return self._speaker.source

    @property
    @override
    def source_list(self) -> list[str]:
        return self._speaker.sources

    @property
    @override
    def media_content_id(self) -> str | None:
        if (media := self._media) is None:
            return None
        return str(URL(media.url).without_query_params(SIGNATURE_PARAMETER))

    @property
    @override
    def media_content_type(self) -> MediaType | None:
        return MediaType.MUSIC if self._media is not None else None

    @property
    @override
    def media_title(self) -> str | None:
        return self._media.title if self._media is not None else None

    @property
    @override
    def media_duration(self) -> int | None:
        if (media := self._media) is None or media.duration_s is None:
            return None
        return round(media.duration_s)

    @property
    @override
    def media_position(self) -> int | None:
        return int(self._media.position_s) if self._media is not None else None

    @property
    @override
    def media_position_updated_at(self) -> datetime | None:
        return self._media.position_updated_at if self._media is not None else None

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Whether an announcement is playing over (and will give back) the music."""
        return {"announcing": self._speaker.announcing}

    @property
    @override
    def group_members(self) -> list[str]:
        """The group's speakers, leader first; empty when not grouped."""
        group = self._speaker.group
        if group is None:
            return []
        if group.role is GroupRole.MEMBER:
            # The leader's word is the fresher: a member learns it by polling.
            leader = self._home_speakers().get(group.leader)
            led = leader.data.state.speaker.group if leader is not None else None
            if led is not None and led.role is GroupRole.LEADER and led.id == group.id:
                group = led
        registry = er.async_get(self.hass)
        return [
            entity_id
            for serial in (group.leader, *group.members)
            if (
                entity_id := registry.async_get_entity_id(
                    MEDIA_PLAYER_DOMAIN, DOMAIN, f"{serial}_{SPEAKER.key}"
                )
            )
        ]

    @callback
    def _home_speakers(self) -> dict[str, QradCoordinator]:
        """The loaded Q.rads of this speaker's home, by serial."""
        account = self.coordinator.account
        return {
            coordinator.serial: coordinator
            for entry in self.hass.config_entries.async_loaded_entries(DOMAIN)
            if isinstance(coordinator := entry.runtime_data, QradCoordinator)
            and coordinator.account == account
        }

    def _coordinator_of(self, entity_id: str) -> QradCoordinator:
        """The Q.rad of a speaker to group with this one, or a clear refusal."""
        entry = er.async_get(self.hass).async_get(entity_id)
        config_entry = (
            self.hass.config_entries.async_get_entry(entry.config_entry_id)
            if entry is not None
            and entry.platform == DOMAIN
            and entry.domain == MEDIA_PLAYER_DOMAIN
            and entry.config_entry_id
            else None
        )
        if config_entry is None or config_entry.state is not ConfigEntryState.LOADED:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="not_a_qrad_speaker",
                translation_placeholders={"entity_id": entity_id},
            )
        coordinator: QradCoordinator = config_entry.runtime_data
        if coordinator.account != self.coordinator.account:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="speaker_of_another_home",
                translation_placeholders={"entity_id": entity_id},
            )
        group = coordinator.data.state.speaker.group
        if (
            coordinator is not self.coordinator
            and group is not None
            and group.role is GroupRole.LEADER
        ):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="speaker_leads_a_group",
                translation_placeholders={"entity_id": entity_id},
            )
        return coordinator

    @override
    async def async_join_players(self, group_members: list[str]) -> None:
        """Lead a group with these speakers (of this home) as members."""
        joining = [self._coordinator_of(entity_id) for entity_id in group_members]
        await self._async_join(
            [
                coordinator
                for coordinator in joining
                if coordinator is not self.coordinator
            ]
        )

    @qrad_command
    async def _async_join(self, joining: list[QradCoordinator]) -> None:
        home = self._home_speakers()
        group = self._speaker.group
        if group is not None and group.role is GroupRole.MEMBER:
            await self._async_leave(self.coordinator)
            group = None
        members = [
            home[serial]
            for serial in (group.members if group else [])
            if serial in home
        ]
        members += [
            coordinator
            for coordinator in joining
            if coordinator.serial not in {member.serial for member in members}
        ]
        led = await self.coordinator.async_lead_group(
            [member.peer for member in members]
        )
        if led is None:
            return
        for member in members:
            current = member.data.state.speaker.group
            if current is not None and current.id == led.id:
                continue  # already playing along
            if current is not None:
                await self._async_leave(member)  # from another leader's group
            await member.async_follow_group(self.coordinator.peer, led.id)

    @qrad_command
    @override
    async def async_unjoin_player(self) -> None:
        """Leave the group; the leader dissolves it."""
        group = self._speaker.group
        if group is None:
            return
        if group.role is GroupRole.MEMBER:
            await self._async_leave(self.coordinator)
            return
        home = self._home_speakers()
        for serial in group.members:
            if (member := home.get(serial)) is not None:
                await member.async_follow_group(None)
        await self.coordinator.async_lead_group([])

    async def _async_leave(self, member: QradCoordinator) -> None:
        """Take a member out of its group, and off its leader's list."""
        group = member.data.state.speaker.group
        await member.async_follow_group(None)
        if group is None:
            return
        leader = self._home_speakers().get(group.leader)
        if leader is None or (led := leader.data.state.speaker.group) is None:
            return
        home = self._home_speakers()
        remaining: list[GroupPeer] = [
            home[serial].peer
            for serial in led.members
            if serial != member.serial and serial in home
        ]
        await leader.async_lead_group(remaining)

    @qrad_command
    @override
    async def async_turn_on(self) -> None:
        await self.coordinator.async_set_speaker(power=True)

    @qrad_command
    @override
    async def async_turn_off(self) -> None:
        await self.coordinator.async_set_speaker(power=False)

    @qrad_command
    @override
    async def async_set_volume_level(self, volume: float) -> None:
        await self.coordinator.async_set_speaker(volume=round(volume, 3))

    @qrad_command
    @override
    async def async_mute_volume(self, mute: bool) -> None:
        await self.coordinator.async_set_speaker(muted=mute)

    @qrad_command
    @override
    async def async_select_source(self, source: str) -> None:
        await self.coordinator.async_set_speaker(source=source)

    @qrad_command
    @override
    async def async_media_play(self) -> None:
        """Resume what was paused."""
        await self.coordinator.async_resume()

    @qrad_command
    @override
    async def async_media_pause(self) -> None:
        await self.coordinator.async_pause()

    @qrad_command
    @override
    async def async_media_stop(self) -> None:
        await self.coordinator.async_stop_playback()

    @override
    async def async_play_media(
        self, media_type: MediaType | str, media_id: str, **kwargs: Any
    ) -> None:
        """Play a URL or a Home Assistant media source (TTS, local media, radio).

        With `announce`, the Q.rad ducks what plays, plays this, then gives the
        music back where it was.
        """
        if media_source.is_media_source_id(media_id):
            resolved = await media_source.async_resolve_media(
                self.hass, media_id, self.entity_id
            )
            media_id = resolved.url
        url = async_process_play_media_url(self.hass, media_id)
        extra: dict[str, Any] = kwargs.get(ATTR_MEDIA_EXTRA) or {}
        title = extra.get("title")
        await self._async_play(
            url,
            str(title)[:MAX_TITLE] if title else None,
            announce=bool(kwargs.get(ATTR_MEDIA_ANNOUNCE)),
        )

    @qrad_command
    async def _async_play(self, url: str, title: str | None, *, announce: bool) -> None:
        await self.coordinator.async_play(url, title=title, announce=announce)

    @override
    async def async_browse_media(
        self,
        media_content_type: MediaType | str | None = None,
        media_content_id: str | None = None,
    ) -> BrowseMedia:
        """Home Assistant's media sources, audio only."""
        return await media_source.async_browse_media(
            self.hass,
            media_content_id,
            content_filter=lambda item: item.media_content_type.startswith("audio/"),
        )
