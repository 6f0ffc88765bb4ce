"""Speaker groups: the Q.rads of one home play (and announce) together.

The leader is told its members, each member its leader (POST /speaker/group);
members then read the leader's stream, unit to unit, and play along.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.media_player import (
    ATTR_GROUP_MEMBERS,
    ATTR_MEDIA_ANNOUNCE,
    ATTR_MEDIA_CONTENT_ID,
    ATTR_MEDIA_CONTENT_TYPE,
    DOMAIN as MEDIA_PLAYER_DOMAIN,
    SERVICE_JOIN,
    SERVICE_PLAY_MEDIA,
    SERVICE_UNJOIN,
    MediaPlayerEntityFeature,
    MediaType,
)
from homeassistant.const import ATTR_SUPPORTED_FEATURES
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.qrad.const import DOMAIN
from simulator.device.server import UnitServer
from simulator.testing import CloudWorld

from .test_cloud import credentials, pair
from .waiting import wait_for

RADIO = "http://radio.example/morning.mp3"
CHIME = "http://sounds.example/chime.mp3"


async def add(hass: HomeAssistant, world: CloudWorld, unit: UnitServer) -> str:
    """Pair a Q.rad (and its account, the first time); its speaker's entity id."""
    result = await pair(hass, unit)
    if result.get("step_id") == "cloud_account":
        await hass.config_entries.flow.async_configure(
            result["flow_id"], credentials(world, unit)
        )
    await hass.async_block_till_done()
    entity_id = er.async_get(hass).async_get_entity_id(
        MEDIA_PLAYER_DOMAIN, DOMAIN, f"{unit.unit.identity.serial}_speaker"
    )
    assert entity_id is not None
    return entity_id


async def call(hass: HomeAssistant, service: str, **data: Any) -> None:
    """Call a media player action and wait for it."""
    await hass.services.async_call(MEDIA_PLAYER_DOMAIN, service, data, blocking=True)


def members(hass: HomeAssistant, entity_id: str) -> list[str]:
    """The group_members attribute of a speaker."""
    state = hass.states.get(entity_id)
    assert state is not None
    return list(state.attributes.get(ATTR_GROUP_MEMBERS) or [])


async def test_a_group_plays_and_announces_together(
    hass: HomeAssistant, cloud_world: CloudWorld
) -> None:
    """Join, play on the leader, announce to the group, then unjoin."""
    leader_unit, member_unit, stranger_unit = cloud_world.fleet.units[:3]
    assert (
        cloud_world.account_of(leader_unit)[0] == cloud_world.account_of(member_unit)[0]
    )
    assert (
        cloud_world.account_of(stranger_unit)[0]
        != cloud_world.account_of(leader_unit)[0]
    )
    leader = await add(hass, cloud_world, leader_unit)
    member = await add(hass, cloud_world, member_unit)
    stranger = await add(hass, cloud_world, stranger_unit)
    features = hass.states.get(leader).attributes[ATTR_SUPPORTED_FEATURES]
    assert features & MediaPlayerEntityFeature.GROUPING
    assert members(hass, leader) == []

    await call(hass, SERVICE_JOIN, entity_id=leader, group_members=[member])
    assert members(hass, leader) == [leader, member]
    assert members(hass, member) == [leader, member]
    assert leader_unit.unit.speaker.group is not None
    assert leader_unit.unit.speaker.group.role == "leader"
    assert member_unit.unit.speaker.group is not None
    assert member_unit.unit.speaker.group.leader == leader_unit.unit.identity.serial

    # What the leader plays, the member plays, where the leader plays it.
    await call(
        hass,
        SERVICE_PLAY_MEDIA,
        entity_id=leader,
        **{ATTR_MEDIA_CONTENT_TYPE: MediaType.MUSIC, ATTR_MEDIA_CONTENT_ID: RADIO},
    )
    await wait_for(
        hass,
        lambda: (
            member_unit.unit.speaker.media is not None
            and member_unit.unit.speaker.media.url == RADIO
            and member_unit.unit.speaker.state == "playing"
        ),
    )
    await wait_for(hass, lambda: hass.states.get(member).state == "playing")
    assert member_unit.unit.speaker.media is not None
    assert leader_unit.unit.speaker.media is not None
    # Within one tick of the emulated units (60 s of their time).
    assert (
        abs(
            member_unit.unit.speaker.media.position_s
            - leader_unit.unit.speaker.media.position_s
        )
        <= 61
    )

    # An announcement to the leader is heard in the whole group, then the music.
    await call(
        hass,
        SERVICE_PLAY_MEDIA,
        entity_id=leader,
        **{
            ATTR_MEDIA_CONTENT_TYPE: MediaType.MUSIC,
            ATTR_MEDIA_CONTENT_ID: CHIME,
            ATTR_MEDIA_ANNOUNCE: True,
        },
    )
    await wait_for(
        hass,
        lambda: (
            member_unit.unit.speaker.announcing
            and member_unit.unit.speaker.media is not None
            and member_unit.unit.speaker.media.url == CHIME
        ),
    )
    await wait_for(
        hass,
        lambda: (
            not member_unit.unit.speaker.announcing
            and member_unit.unit.speaker.media is not None
            and member_unit.unit.speaker.media.url == RADIO
        ),
    )

    # Another home's speaker is refused, with a reason.
    with pytest.raises(ServiceValidationError) as refused:
        await call(hass, SERVICE_JOIN, entity_id=leader, group_members=[stranger])
    assert refused.value.translation_key == "speaker_of_another_home"
    with pytest.raises(ServiceValidationError) as refused:
        await call(
            hass, SERVICE_JOIN, entity_id=leader, group_members=["media_player.nope"]
        )
    assert refused.value.translation_key == "not_a_qrad_speaker"

    # The member leaves: it falls silent; the leader, alone, has no group.
    await call(hass, SERVICE_UNJOIN, entity_id=member)
    assert member_unit.unit.speaker.group is None
    assert member_unit.unit.speaker.state == "idle"
    assert leader_unit.unit.speaker.group is None
    assert leader_unit.unit.speaker.state == "playing"
    assert members(hass, leader) == []
    assert members(hass, member) == []


async def test_the_leader_unjoining_dissolves_the_group(
    hass: HomeAssistant, cloud_world: CloudWorld
) -> None:
    """Unjoin on the leader: every member leaves; a member told to play leaves."""
    leader_unit, member_unit = cloud_world.fleet.units[:2]
    leader = await add(hass, cloud_world, leader_unit)
    member = await add(hass, cloud_world, member_unit)

    await call(hass, SERVICE_JOIN, entity_id=leader, group_members=[member])
    await call(hass, SERVICE_UNJOIN, entity_id=leader)
    assert leader_unit.unit.speaker.group is None
    assert member_unit.unit.speaker.group is None
    assert members(hass, member) == []

    # Joined again; the member plays something itself: it leaves the group.
    await call(hass, SERVICE_JOIN, entity_id=leader, group_members=[member])
    await call(
        hass,
        SERVICE_PLAY_MEDIA,
        entity_id=member,
        **{ATTR_MEDIA_CONTENT_TYPE: MediaType.MUSIC, ATTR_MEDIA_CONTENT_ID: CHIME},
    )
    assert member_unit.unit.speaker.group is None
    await wait_for(hass, lambda: members(hass, member) == [])
    # Its old leader learns it when it next reads a state: the member polls no more.
    assert member_unit.unit.speaker.media is not None
    assert member_unit.unit.speaker.media.url == CHIME
    # And the leader dissolves what is left.
    await call(hass, SERVICE_UNJOIN, entity_id=leader)
    assert leader_unit.unit.speaker.group is None
