"""The additive endpoints of issue 11, client and emulator over real sockets.

PATCH /power, POST /speaker/group and GET /speaker/stream (protocol 3.2), the
`window_open` / `window_close` events and the debug counters (protocol 7).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.qrad.api import (
    GroupPeer,
    GroupRole,
    QradDevice,
    QradRequestError,
    QradState,
)
from simulator.device.server import UnitServer
from simulator.fleet import Fleet, FleetConfig
from simulator.testing import free_port_range

from .support import bench, client, environment, served_state


@pytest.fixture
async def pair_of_units() -> AsyncIterator[list[UnitServer]]:
    """Two emulated units that pair without a button press, at 60x."""
    config = FleetConfig(
        count=2, base_port=free_port_range(2), speed=60, announce=False, auto_pair=True
    )
    async with Fleet(config) as fleet:
        yield fleet.units


def peer(unit: UnitServer) -> GroupPeer:
    """How other units reach `unit`."""
    return GroupPeer(serial=unit.unit.identity.serial, host=unit.host, port=unit.port)


async def stream(unit: UnitServer, group_id: str) -> tuple[int, object]:
    """A leader's stream, as its members read it: no token."""
    url = f"{unit.url}/speaker/stream"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, params={"group_id": group_id}) as answer,
    ):
        return answer.status, await answer.json()


async def test_power_limit_is_written_validated_and_honoured(
    device: QradDevice, qrad_unit: UnitServer
) -> None:
    """0-500 W, unknown fields refused; the local thermostat never exceeds it."""
    power = await device.set_power_limit(150.0)
    assert power.power_limit_w == 150.0
    assert qrad_unit.unit.power_limit_w == 150.0
    with pytest.raises(QradRequestError) as refused:
        await device.set_power_limit(501.0)
    assert refused.value.code == "invalid_value"
    assert qrad_unit.unit.power_limit_w == 150.0
    await device.set_thermostat(target_temperature=30.0)
    for _ in range(3):
        await asyncio.sleep(1.1)
        assert qrad_unit.unit.power_w <= 150.0
    assert qrad_unit.unit.power_w == 150.0
    status, body = await bench(qrad_unit, "debug")
    assert status == 200
    assert body["power_limit_w"] == 150.0
    assert body["requests"]["PATCH /api/v1/power"] == 2
    assert [write["path"] for write in body["writes"]][-2:] == [
        "/api/v1/power",
        "/api/v1/thermostat",
    ]


async def test_unknown_field_of_the_power_section(
    device: QradDevice, qrad_unit: UnitServer, qrad_token: str
) -> None:
    """A typo is refused, not ignored."""
    async with (
        aiohttp.ClientSession() as session,
        session.patch(
            f"{qrad_unit.url}/power",
            json={"power_limit": 100},
            headers={"Authorization": f"Bearer {qrad_token}"},
        ) as answer,
    ):
        assert answer.status == 400
        assert (await answer.json())["error"]["code"] == "unknown_field"


async def test_open_window_cools_the_room_until_closed(
    qrad_unit: UnitServer,
) -> None:
    """`window_open` makes the room lose heat fast; `window_close` ends it."""
    model = qrad_unit.unit
    before = model.room.temperature
    await environment(qrad_unit, "window_open", minutes=30)
    status, body = await bench(qrad_unit, "debug")
    assert body["window_open"] is True
    async with asyncio.timeout(10):
        while model.room.temperature > before - 1.0:
            await asyncio.sleep(0.2)
    await environment(qrad_unit, "window_close")
    status, body = await bench(qrad_unit, "debug")
    assert status == 200
    assert body["window_open"] is False
    status, body = await bench(
        qrad_unit, "events", {"event": "window_open", "minutes": -1}
    )
    assert status == 400


async def test_a_speaker_group_over_the_lan(pair_of_units: list[UnitServer]) -> None:
    """Lead, follow through the leader's stream, and leave."""
    leader_unit, member_unit = pair_of_units
    async with client(leader_unit) as leader, client(member_unit) as member:
        await leader.pair("tests")
        await member.pair("tests")
        with pytest.raises(QradRequestError) as refused:
            await leader.lead_speaker_group([peer(leader_unit)])
        assert refused.value.code == "invalid_value"

        led = await leader.lead_speaker_group([peer(member_unit)])
        group = led.group
        assert group is not None
        assert group.role is GroupRole.LEADER
        assert group.members == [member_unit.unit.identity.serial]
        assert len(group.id) == 32

        # No token, but the right group id: the stream.
        status, _body = await stream(leader_unit, "0" * 32)
        assert status == 404
        status, body = await stream(leader_unit, group.id)
        assert status == 200
        assert isinstance(body, dict)
        assert body["members"] == [member_unit.unit.identity.serial]

        with pytest.raises(QradRequestError) as refused:
            await member.follow_speaker_group(peer(leader_unit), "not-an-id")
        assert refused.value.code == "invalid_value"
        with pytest.raises(QradRequestError) as refused:
            await leader.follow_speaker_group(peer(member_unit), group.id)
        assert refused.value.code == "not_available"

        followed = await member.follow_speaker_group(peer(leader_unit), group.id)
        assert followed.group is not None
        assert followed.group.role is GroupRole.MEMBER
        await leader.play("http://radio.example/live.mp3", title="Live")
        async with asyncio.timeout(5):
            while member_unit.unit.speaker.media is None:
                await asyncio.sleep(0.1)
        assert member_unit.unit.speaker.media.url == "http://radio.example/live.mp3"
        assert member_unit.unit.speaker.state == "playing"
        state = await member.state()
        assert state.speaker.group is not None
        assert state.speaker.group.leader == leader_unit.unit.identity.serial

        # The leader dissolves the group: the member notices and falls silent.
        dissolved = await leader.lead_speaker_group([])
        assert dissolved.group is None
        async with asyncio.timeout(5):
            while member_unit.unit.speaker.group is not None:
                await asyncio.sleep(0.1)
        assert member_unit.unit.speaker.state == "idle"
        left = await member.follow_speaker_group(None)
        assert left.group is None


def test_a_state_without_group_still_parses() -> None:
    """`speaker.group` is additive: a unit that does not send it is understood."""
    raw = served_state()
    del raw["speaker"]["group"]
    state = QradState.from_dict(raw)
    assert state.speaker.group is None
    assert "group" not in state.to_dict()["speaker"]
    assert QradState.from_dict(served_state()).to_dict()["speaker"]["group"] is None
