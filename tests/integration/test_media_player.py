"""The Q.rad's speaker as a media player: controls, playback, announcements, media."""

from __future__ import annotations

from pathlib import Path

from homeassistant.components.media_player import (
    ATTR_INPUT_SOURCE,
    ATTR_MEDIA_ANNOUNCE,
    ATTR_MEDIA_CONTENT_ID,
    ATTR_MEDIA_CONTENT_TYPE,
    ATTR_MEDIA_EXTRA,
    ATTR_MEDIA_TITLE,
    ATTR_MEDIA_VOLUME_LEVEL,
    ATTR_MEDIA_VOLUME_MUTED,
    DOMAIN as MEDIA_PLAYER_DOMAIN,
    SERVICE_PLAY_MEDIA,
    SERVICE_SELECT_SOURCE,
    MediaPlayerState,
    MediaType,
)
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_MEDIA_PAUSE,
    SERVICE_MEDIA_PLAY,
    SERVICE_MEDIA_STOP,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    SERVICE_VOLUME_MUTE,
    SERVICE_VOLUME_SET,
    SERVICE_VOLUME_UP,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
from syrupy.assertion import SnapshotAssertion

from simulator.device.server import UnitServer

from .waiting import wait_for

SPEAKER = "media_player.living_room_speaker"
RADIO = "http://radio.example/morning.mp3"
CHIME = "http://sounds.example/chime.mp3"
HA_URL = "http://192.168.1.2:8123"


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots of states and registry entries, without their random ids."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


async def call(hass: HomeAssistant, service: str, **data: object) -> None:
    """Call a media player action on the speaker and wait for it."""
    await hass.services.async_call(
        MEDIA_PLAYER_DOMAIN,
        service,
        {ATTR_ENTITY_ID: SPEAKER, **data},
        blocking=True,
    )


def speaker(hass: HomeAssistant) -> dict[str, object]:
    """The speaker's state and attributes, as a dashboard shows them."""
    state = hass.states.get(SPEAKER)
    assert state is not None
    return {"state": state.state, **state.attributes}


async def test_speaker_entity(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """One speaker per Q.rad, with every feature the Q.rad's speaker has."""
    assert entity_registry.async_get(SPEAKER) == snapshot(name="entry")
    assert hass.states.get(SPEAKER) == snapshot(name="state")


async def test_power_volume_mute_and_source(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """What is set from Home Assistant is what the Q.rad's speaker does."""
    unit = qrad_unit.unit
    assert speaker(hass)["state"] == MediaPlayerState.IDLE
    assert speaker(hass)["source_list"] == ["network", "bluetooth"]

    await call(hass, SERVICE_TURN_OFF)
    assert not unit.speaker.power
    assert speaker(hass)["state"] == MediaPlayerState.OFF
    await call(hass, SERVICE_TURN_ON)
    assert unit.speaker.power
    assert speaker(hass)["state"] == MediaPlayerState.IDLE

    await call(hass, SERVICE_VOLUME_SET, **{ATTR_MEDIA_VOLUME_LEVEL: 0.55})
    assert unit.speaker.volume == 0.55
    await call(hass, SERVICE_VOLUME_UP)
    assert unit.speaker.volume == pytest.approx(0.65)
    assert speaker(hass)[ATTR_MEDIA_VOLUME_LEVEL] == pytest.approx(0.65)
    await call(hass, SERVICE_VOLUME_MUTE, **{ATTR_MEDIA_VOLUME_MUTED: True})
    assert unit.speaker.muted
    assert speaker(hass)[ATTR_MEDIA_VOLUME_MUTED] is True

    await call(hass, SERVICE_SELECT_SOURCE, **{ATTR_INPUT_SOURCE: "bluetooth"})
    assert unit.speaker.source == "bluetooth"
    assert speaker(hass)[ATTR_INPUT_SOURCE] == "bluetooth"
    with pytest.raises(ServiceValidationError) as refused:
        await call(hass, SERVICE_SELECT_SOURCE, **{ATTR_INPUT_SOURCE: "vinyl"})
    assert refused.value.translation_key == "invalid_request"
    assert "source must be one of" in str(refused.value)
    assert unit.speaker.source == "bluetooth"


async def test_play_pause_resume_stop(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """A URL plays with its title; pause, play and stop act on the Q.rad."""
    unit = qrad_unit.unit
    await call(
        hass,
        SERVICE_PLAY_MEDIA,
        **{
            ATTR_MEDIA_CONTENT_ID: RADIO,
            ATTR_MEDIA_CONTENT_TYPE: MediaType.MUSIC,
            ATTR_MEDIA_EXTRA: {"title": "Morning radio"},
        },
    )
    assert unit.speaker.media is not None
    assert (unit.speaker.media.url, unit.speaker.media.title) == (
        RADIO,
        "Morning radio",
    )
    assert speaker(hass)["state"] == MediaPlayerState.PLAYING
    assert speaker(hass)[ATTR_MEDIA_TITLE] == "Morning radio"
    assert speaker(hass)[ATTR_MEDIA_CONTENT_ID] == RADIO

    await call(hass, SERVICE_MEDIA_PAUSE)
    assert unit.speaker.state == "paused"
    assert speaker(hass)["state"] == MediaPlayerState.PAUSED
    await call(hass, SERVICE_MEDIA_PLAY)
    assert unit.speaker.state == "playing"
    await call(hass, SERVICE_MEDIA_STOP)
    assert unit.speaker.media is None
    assert speaker(hass)["state"] == MediaPlayerState.IDLE
    assert ATTR_MEDIA_TITLE not in speaker(hass)

    with pytest.raises(ServiceValidationError) as refused:
        await call(hass, SERVICE_MEDIA_PAUSE)
    assert refused.value.translation_key == "invalid_request"
    assert "nothing is playing" in str(refused.value)


async def test_announcement_gives_the_music_back(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """An announcement plays over the radio, then the radio comes back by itself."""
    unit = qrad_unit.unit
    await wait_for(hass, lambda: init_integration.runtime_data.push_connected)
    await call(
        hass,
        SERVICE_PLAY_MEDIA,
        **{ATTR_MEDIA_CONTENT_ID: RADIO, ATTR_MEDIA_CONTENT_TYPE: MediaType.MUSIC},
    )
    await call(
        hass,
        SERVICE_PLAY_MEDIA,
        **{
            ATTR_MEDIA_CONTENT_ID: CHIME,
            ATTR_MEDIA_CONTENT_TYPE: MediaType.MUSIC,
            ATTR_MEDIA_ANNOUNCE: True,
        },
    )
    assert unit.speaker.announcing
    assert speaker(hass)["announcing"] is True
    assert speaker(hass)[ATTR_MEDIA_CONTENT_ID] == CHIME

    # 8 s of unit time later (the fleet runs at 60x), the Q.rad pushes the radio back.
    await wait_for(hass, lambda: speaker(hass)["announcing"] is False, limit=10)
    assert speaker(hass)["state"] == MediaPlayerState.PLAYING
    assert speaker(hass)[ATTR_MEDIA_CONTENT_ID] == RADIO
    assert not unit.speaker.announcing


async def test_pushed_from_the_qrad(
    hass: HomeAssistant, init_integration: MockConfigEntry, qrad_unit: UnitServer
) -> None:
    """Volume and playback changed on the Q.rad itself show up at once."""
    await wait_for(hass, lambda: init_integration.runtime_data.push_connected)
    unit = qrad_unit.unit
    unit.speaker.volume = 0.8
    unit.play({"url": RADIO, "title": "Played on the unit"})
    await qrad_unit.publish()
    await wait_for(
        hass, lambda: speaker(hass).get(ATTR_MEDIA_TITLE) == "Played on the unit"
    )
    assert speaker(hass)[ATTR_MEDIA_VOLUME_LEVEL] == 0.8
    assert speaker(hass)["state"] == MediaPlayerState.PLAYING
    position = speaker(hass)["media_position"]
    assert isinstance(position, int)
    await wait_for(hass, lambda: speaker(hass)["media_position"] > position)


@pytest.fixture
async def media_sources(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Home Assistant's media sources, with a chime and a photo in local media."""
    media = tmp_path / "media"
    media.mkdir()
    (media / "chime.mp3").write_bytes(b"ID3")
    (media / "photo.jpg").write_bytes(b"\xff\xd8")
    hass.config.media_dirs = {"local": str(media)}
    hass.config.internal_url = HA_URL
    assert await async_setup_component(hass, "media_source", {})
    await hass.async_block_till_done()
    return media


async def test_plays_and_announces_home_assistant_media(
    hass: HomeAssistant,
    media_sources: Path,
    init_integration: MockConfigEntry,
    qrad_unit: UnitServer,
) -> None:
    """A media source (as TTS gives) reaches the Q.rad as a signed URL of HA."""
    await call(
        hass,
        SERVICE_PLAY_MEDIA,
        **{
            ATTR_MEDIA_CONTENT_ID: "media-source://media_source/local/chime.mp3",
            ATTR_MEDIA_CONTENT_TYPE: "audio/mpeg",
            ATTR_MEDIA_ANNOUNCE: True,
        },
    )
    unit = qrad_unit.unit
    assert unit.speaker.announcing
    assert unit.speaker.media is not None
    assert unit.speaker.media.url.startswith(f"{HA_URL}/media/local/chime.mp3?authSig=")
    # The signature reaches the Q.rad, not the state (nor the recorder).
    assert speaker(hass)[ATTR_MEDIA_CONTENT_ID] == f"{HA_URL}/media/local/chime.mp3"


async def test_browse_offers_audio_only(
    hass: HomeAssistant,
    media_sources: Path,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Browsing from the speaker lists Home Assistant's audio, not its photos."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "media_player/browse_media",
            "entity_id": SPEAKER,
            "media_content_type": "app",
            "media_content_id": "media-source://media_source/local/.",
        }
    )
    answer = await client.receive_json()
    assert answer["success"], answer
    titles = [child["title"] for child in answer["result"]["children"]]
    assert titles == ["chime.mp3"]
