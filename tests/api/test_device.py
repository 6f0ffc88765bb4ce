"""The device client against an emulated Q.rad, over real sockets."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from custom_components.qrad.api import (
    HvacMode,
    Preset,
    QradAuthenticationError,
    QradDevice,
    QradPairingError,
    QradRequestError,
    QradState,
    QradTimeoutError,
)
from simulator.device.server import UnitServer


def client(unit: UnitServer, token: str | None = None, **kwargs: float) -> QradDevice:
    """A client of that unit."""
    return QradDevice(unit.host, unit.port, token=token, **kwargs)


async def test_info_is_public(qrad_unit: UnitServer) -> None:
    """Anyone on the LAN can read who the unit is, and that nobody paired yet."""
    async with client(qrad_unit) as device:
        info = await device.info()
    assert info.serial == qrad_unit.unit.identity.serial
    assert info.api_version == 1
    assert info.paired is False


async def test_pairing_needs_the_button(qrad_unit: UnitServer) -> None:
    """No token without a press; after a press, one token that works."""
    async with client(qrad_unit) as device:
        with pytest.raises(QradPairingError):
            await device.pair("tests")
        qrad_unit.press_button()
        result = await device.pair("tests")
        assert result.token not in repr(result)
        state = await device.state()
        assert state.device.serial == qrad_unit.unit.identity.serial
        # One token per press: the window closed again.
        with pytest.raises(QradPairingError):
            await device.pair("another")


async def test_wrong_token_is_an_authentication_error(qrad_unit: UnitServer) -> None:
    """A token the unit does not know asks for pairing again."""
    async with client(qrad_unit, "not-a-token") as device:
        with pytest.raises(QradAuthenticationError):
            await device.state()
        assert "not-a-token" not in repr(device)


async def test_thermostat_target_and_presets(
    qrad_unit: UnitServer, qrad_token: str
) -> None:
    """A target by hand clears the preset; a preset brings its temperature."""
    async with client(qrad_unit, qrad_token) as device:
        thermostat = await device.set_thermostat(target_temperature=21.5)
        assert thermostat.target_temperature == 21.5
        assert thermostat.preset is Preset.NONE
        thermostat = await device.set_thermostat(preset=Preset.ECO)
        assert thermostat.target_temperature == 17.5
        thermostat = await device.set_thermostat(
            preset_temperatures={Preset.ECO: 16.0}, hvac_mode=HvacMode.AUTO
        )
        assert thermostat.target_temperature == 16.0
        assert thermostat.hvac_mode is HvacMode.AUTO
    assert qrad_unit.unit.target == 16.0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"target_temperature": 31.0}, "target_temperature"),
        ({"target_temperature": 20.3}, "target_temperature"),
        ({"hvac_mode": "cool"}, "hvac_mode"),
    ],
)
async def test_bad_values_are_refused_whole(
    qrad_unit: UnitServer, qrad_token: str, changes: dict[str, object], field: str
) -> None:
    """The unit names the offending field and changes nothing."""
    before = qrad_unit.unit.wire_state()["thermostat"]
    async with client(qrad_unit, qrad_token) as device:
        with pytest.raises(QradRequestError) as caught:
            await device._request("PATCH", "/thermostat", changes)
    assert caught.value.code == "invalid_value"
    assert caught.value.field == field
    assert qrad_unit.unit.wire_state()["thermostat"] == before


async def test_listen_gets_snapshot_then_updates(
    qrad_unit: UnitServer, qrad_token: str
) -> None:
    """Changes made elsewhere reach a listening client."""
    states: list[QradState] = []
    connected = asyncio.Event()
    changed = asyncio.Event()

    def on_state(state: QradState) -> None:
        states.append(state)
        if state.thermostat.target_temperature == 23.0:
            changed.set()

    async with client(qrad_unit, qrad_token) as device:
        task = asyncio.create_task(
            device.listen(on_state, lambda up: connected.set() if up else None)
        )
        await asyncio.wait_for(connected.wait(), 5)
        async with client(qrad_unit, qrad_token) as other:
            await other.set_thermostat(target_temperature=23.0)
        await asyncio.wait_for(changed.wait(), 5)
        task.cancel()
    assert states[0].device.serial == qrad_unit.unit.identity.serial


async def test_listener_reconnects_after_a_drop_and_ignores_garbage(
    qrad_unit: UnitServer, qrad_token: str
) -> None:
    """A dropped stream comes back by itself; a garbled message is skipped."""
    changes: list[bool] = []
    up = asyncio.Event()
    states: list[QradState] = []

    def on_connection(connected: bool) -> None:  # noqa: FBT001
        changes.append(connected)
        if connected:
            up.set()

    async with client(qrad_unit, qrad_token) as device:
        task = asyncio.create_task(device.listen(states.append, on_connection))
        await asyncio.wait_for(up.wait(), 5)
        qrad_unit.garble_next = 1
        qrad_unit.unit.target = 24.0
        await qrad_unit.publish()
        up.clear()
        await qrad_unit.drop_streams()
        await asyncio.wait_for(up.wait(), 10)
        task.cancel()
    assert changes == [True, False, True]
    assert states[-1].thermostat.target_temperature == 24.0


async def test_listener_stops_on_revoked_token(
    qrad_unit: UnitServer, qrad_token: str
) -> None:
    """A revoked token ends the listener with an authentication error."""
    up = asyncio.Event()
    async with client(qrad_unit, qrad_token) as device:
        task = asyncio.create_task(
            device.listen(lambda _: None, lambda c: up.set() if c else None)
        )
        await asyncio.wait_for(up.wait(), 5)
        await qrad_unit.revoke_tokens()
        with pytest.raises(QradAuthenticationError):
            await asyncio.wait_for(task, 5)


async def test_slow_unit_times_out(qrad_unit: UnitServer, qrad_token: str) -> None:
    """A unit that answers too slowly gives a timeout, not a hang."""
    qrad_unit.delay_s = 2.0
    async with client(qrad_unit, qrad_token, request_timeout=0.5) as device:
        with pytest.raises(QradTimeoutError):
            await device.state()


async def test_rate_limit_is_waited_out(qrad_unit: UnitServer, qrad_token: str) -> None:
    """More requests than the unit allows are retried after Retry-After, not lost."""
    async with client(qrad_unit, qrad_token) as device:
        results = await asyncio.gather(*(device.state() for _ in range(25)))
    assert len(results) == 25


async def test_injected_session_is_left_open(
    qrad_unit: UnitServer, qrad_token: str
) -> None:
    """The client closes only a session it created."""
    async with aiohttp.ClientSession() as session:
        async with QradDevice(
            qrad_unit.host, qrad_unit.port, token=qrad_token, session=session
        ) as device:
            await device.state()
        assert not session.closed
