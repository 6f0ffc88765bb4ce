"""The Q.rad's speaker: music, radio and Home Assistant's announcements."""

from __future__ import annotations

from datetime import datetime
from typing import Any, override

from homeassistant.components import media_source
from homeassistant.components.media_player import (
    ATTR_MEDIA_ANNOUNCE,
    ATTR_MEDIA_EXTRA,
    BrowseMedia,
    MediaPlayerDeviceClass,
    MediaPlayerEntity,
    MediaPlayerEntityDescription,
    MediaPlayerEntityFeature,
    MediaPlayerState,
    MediaType,
    async_process_play_media_url,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from yarl import URL

from .api import Media, Speaker, SpeakerState
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
    )

    def __init__(self, coordinator: QradCoordinator) -> None:
        """Describe the speaker of one Q.rad."""
        super().__init__(coordinator, SPEAKER)

    @property
    def _speaker(self) -> Speaker:
        return self.coordinator.data.state.speaker

    @property
    def _media(self) -> Media | None:
        return self._speaker.media

    @property
    @override
    def state(self) -> MediaPlayerState:
        return TO_HA_STATE[self._speaker.state]

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
