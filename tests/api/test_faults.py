"""What a user sees when the emulated Q.rad misbehaves (docs/protocol.md, section 7).

Every fault goes through the emulator's own control endpoints, the way a test
bench would inject it, and is observed through the device client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
from typing import Any, cast

import aiohttp
import pytest

from custom_components.qrad.api import (
    QradAuthenticationError,
    QradBusyError,
    QradConnectionError,
    QradDevice,
    QradTimeoutError,
)
import custom_components.qrad.api.device as device_module
from simulator.device import server as server_module
from simulator.device.server import UnitServer
from simulator.fleet import Fleet, FleetConfig
from simulator.testing import free_port

from .support import Listener, bench, client, environment, fault

DEVICE_LOGGER = device_module.LOGGER.name


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until the emulator reaches a condition (it works in the background)."""
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


async def bench_or_none(unit: UnitServer) -> dict[str, Any] | None:
    """The unit's debug view, or None while it does not listen (yet)."""
    try:
        _, debug = await bench(unit, "debug")
    except aiohttp.ClientConnectionError:
        return None
    return cast("dict[str, Any]", debug)


# Faults.


@pytest.mark.usefixtures("fast_reconnect")
async def test_dropped_stream_comes_back(
    qrad_unit: UnitServer, device: QradDevice
) -> None:
    """After drop_websocket the listener reconnects and the next update arrives."""
    async with Listener(client(qrad_unit, device.token)) as listener:
        await listener.connected()
        await fault(qrad_unit, "drop_websocket")
        await listener.connected(times=2)
        await device.set_thermostat(target_temperature=24.0)
        await listener.state_where(lambda s: s.thermostat.target_temperature == 24.0)
    assert listener.connection == [True, False, True]


@pytest.mark.usefixtures("fast_reconnect")
async def test_refused_connections_then_back(
    qrad_unit: UnitServer, device: QradDevice
) -> None:
    """While the unit refuses connections, calls fail; then stream and calls return."""
    async with Listener(client(qrad_unit, device.token)) as listener:
        await listener.connected()
        await fault(qrad_unit, "refuse_connections", seconds=0.5)
        await listener.until(lambda: listener.connection == [True, False])
        await eventually(lambda: qrad_unit._runner is None)
        with pytest.raises(QradConnectionError):
            await device.state()
        await listener.connected(times=2)
    state = await device.state()
    assert state.device.serial == qrad_unit.unit.identity.serial


async def test_slow_unit_until_the_fault_ends(
    qrad_unit: UnitServer, qrad_token: str
) -> None:
    """A slow unit times out calls and stream; `slow` with 0 s brings both back."""
    await fault(qrad_unit, "slow", delay_s=0.4)
    _, debug = await bench(qrad_unit, "debug")
    assert debug["delay_s"] == 0.4
    device = client(qrad_unit, qrad_token, request_timeout=0.2)
    async with Listener(device) as listener:
        with pytest.raises(QradTimeoutError):
            await device.state()
        await asyncio.sleep(0.3)
        assert listener.connection == []
        await fault(qrad_unit, "slow", delay_s=0)
        await listener.connected()
        await device.state()


@pytest.mark.usefixtures("fast_reconnect")
async def test_reboot_is_waited_out(
    qrad_unit: UnitServer, device: QradDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reboot is retried through (503 busy, Retry-After) and resyncs the stream."""
    monkeypatch.setattr(server_module, "REBOOT_BUSY_S", 1.0)
    old_boot = qrad_unit.unit.boot_id
    async with Listener(client(qrad_unit, device.token)) as listener:
        await listener.connected()
        await fault(qrad_unit, "reboot")
        state = await device.state()  # busy for 1 s: waited out, not raised
        assert state.device.boot_id != old_boot
        snapshot = await listener.state_where(
            lambda s: s.device.boot_id == state.device.boot_id
        )
    assert listener.connection == [True, False, True]
    assert snapshot.device.uptime_s < 600


async def test_busy_for_too_long_is_a_busy_error(
    qrad_unit: UnitServer, device: QradDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Busy for longer than the client retries: a busy error, not an auth error."""
    monkeypatch.setattr(server_module, "REBOOT_BUSY_S", 30.0)
    monkeypatch.setattr(device_module, "MAX_RETRY_AFTER_S", 0.01)
    await fault(qrad_unit, "reboot")
    with pytest.raises(QradBusyError) as caught:
        await device.state()
    assert caught.value.retry_after == 30.0
    assert "busy" in str(caught.value)


async def test_moved_unit_answers_at_its_new_address(
    qrad_unit: UnitServer, device: QradDevice
) -> None:
    """After `move` the old address refuses; the new one is the same unit."""
    new_port = free_port()
    serial = qrad_unit.unit.identity.serial
    await fault(qrad_unit, "move", port=new_port)
    await eventually(lambda: qrad_unit.port == new_port)
    async with asyncio.timeout(5):
        while (await bench_or_none(qrad_unit)) is None:
            await asyncio.sleep(0.01)
    with pytest.raises(QradConnectionError):
        await device.state()
    async with client(qrad_unit, device.token) as moved:
        assert moved.port == new_port
        assert (await moved.state()).device.serial == serial
    debug = await bench_or_none(qrad_unit)
    assert debug is not None
    assert (debug["host"], debug["port"]) == (qrad_unit.host, new_port)


async def test_revoked_tokens_ask_for_pairing(
    qrad_unit: UnitServer, device: QradDevice
) -> None:
    """After revoke_tokens, calls and the stream raise the authentication error."""
    async with Listener(client(qrad_unit, device.token)) as listener:
        await listener.connected()
        await fault(qrad_unit, "revoke_tokens")
        with pytest.raises(QradAuthenticationError):
            await asyncio.wait_for(listener.task, 5)
    with pytest.raises(QradAuthenticationError):
        await device.state()
    assert (await device.info()).paired is False


@pytest.mark.usefixtures("fast_reconnect")
async def test_malformed_messages_keep_the_last_good_state(
    still_unit: UnitServer,
    still_device: QradDevice,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A garbled update is reported and skipped; a resync then brings the change."""
    caplog.set_level(logging.WARNING, logger=DEVICE_LOGGER)
    async with Listener(client(still_unit, still_device.token)) as listener:
        await listener.connected()
        await fault(still_unit, "malformed_payloads", count=1)
        await still_device.set_thermostat(target_temperature=24.0)
        await listener.state_where(lambda s: s.thermostat.target_temperature == 24.0)
        first = next(
            index
            for index, state in enumerate(listener.states)
            if state.thermostat.target_temperature == 24.0
        )
    assert listener.connection == [True, False, True]
    # The change arrived only with the new snapshot: states before it are the old one.
    assert first == 1
    assert "malformed event" in caplog.text


@pytest.mark.usefixtures("fast_reconnect")
async def test_out_of_range_update_is_refused_then_resynced(
    still_unit: UnitServer,
    still_device: QradDevice,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 999 C reading is never shown; the rest of that update still arrives."""
    caplog.set_level(logging.WARNING, logger=DEVICE_LOGGER)
    async with Listener(client(still_unit, still_device.token)) as listener:
        await listener.connected()
        await fault(still_unit, "out_of_range_payloads", count=1)
        await still_device.set_thermostat(target_temperature=24.0)
        await listener.state_where(lambda s: s.thermostat.target_temperature == 24.0)
    assert all(s.sensors.temperature <= 50.0 for s in listener.states)
    assert "sensors.temperature" in caplog.text
    assert listener.connection == [True, False, True]


async def test_clear_ends_every_fault(
    still_unit: UnitServer,
    still_device: QradDevice,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After `clear`, updates arrive intact on the same stream, at full speed."""
    caplog.set_level(logging.WARNING, logger=DEVICE_LOGGER)
    async with Listener(client(still_unit, still_device.token)) as listener:
        await listener.connected()
        await fault(still_unit, "malformed_payloads", count=5)
        await fault(still_unit, "out_of_range_payloads", count=5)
        await fault(still_unit, "slow", delay_s=0.2)
        await fault(still_unit, "clear")
        await still_device.set_thermostat(target_temperature=24.0)
        await listener.state_where(lambda s: s.thermostat.target_temperature == 24.0)
    assert listener.connection == [True]
    assert not [r for r in caplog.records if r.name == DEVICE_LOGGER]
    _, debug = await bench(still_unit, "debug")
    assert debug["delay_s"] == 0


# The room (`/_emulator/events`) and `/_emulator/debug`.


async def test_phone_on_and_off_the_charger(
    qrad_unit: UnitServer, device: QradDevice
) -> None:
    """Placing and removing a phone shows in the pushed charger state."""
    async with Listener(client(qrad_unit, device.token)) as listener:
        await listener.connected()
        await environment(qrad_unit, "phone_placed")
        await listener.state_where(lambda s: s.charger.charging)
        await environment(qrad_unit, "phone_removed")
        state = await listener.state_where(lambda s: not s.charger.phone_present)
    assert state.charger.charging is False
    assert listener.connection == [True]


async def test_wifi_clients_join_and_leave(
    qrad_unit: UnitServer, device: QradDevice
) -> None:
    """Clients joining and leaving the access point show in the pushed state."""
    mac = "3c:22:fb:aa:bb:cc"
    async with Listener(client(qrad_unit, device.token)) as listener:
        await listener.connected()
        await environment(qrad_unit, "client_join", mac=mac, name="Anna's phone")
        state = await listener.state_where(lambda s: len(s.wifi.clients) == 1)
        assert (state.wifi.clients[0].mac, state.wifi.clients[0].name) == (
            mac,
            "Anna's phone",
        )
        await environment(qrad_unit, "client_join")
        state = await listener.state_where(lambda s: len(s.wifi.clients) == 2)
        assert all(c.name for c in state.wifi.clients)
        await environment(qrad_unit, "client_leave", mac=mac)
        state = await listener.state_where(lambda s: len(s.wifi.clients) == 1)
    assert state.wifi.clients[0].mac != mac


async def test_occupancy_shows_in_debug_and_sensors(
    still_unit: UnitServer, still_device: QradDevice
) -> None:
    """People in the room are what the bench set, and raise the room's VOC index."""
    await environment(still_unit, "occupancy", people=0)
    _, debug = await bench(still_unit, "debug")
    assert debug["people"] == 0
    async with Listener(client(still_unit, still_device.token)) as listener:
        await listener.connected()
        empty = listener.state.sensors.voc_index
        await environment(still_unit, "occupancy", people=4)
        busy = await listener.state_where(lambda s: s.sensors.voc_index != empty)
    assert busy.sensors.voc_index > empty
    _, debug = await bench(still_unit, "debug")
    assert debug["people"] == 4
    assert {"room_temperature", "power_w", "control", "host", "port"} <= set(debug)
    assert debug["control"] == "local"


async def test_reading_state_hides_no_change_from_listeners(
    still_unit: UnitServer, still_device: QradDevice
) -> None:
    """A GET /state by anyone does not swallow a change the stream has yet to push."""
    async with Listener(client(still_unit, still_device.token)) as listener:
        await listener.connected()
        before = listener.state.sensors.voc_index
        await environment(still_unit, "occupancy", people=5)
        now = (await still_device.state()).sensors.voc_index
        assert now != before
        await listener.state_where(lambda s: s.sensors.voc_index == now)


async def test_a_new_stream_hides_no_change_from_others(
    still_unit: UnitServer, still_device: QradDevice
) -> None:
    """A client connecting does not swallow a change the stream has yet to push."""
    async with Listener(client(still_unit, still_device.token)) as first:
        await first.connected()
        before = first.state.sensors.voc_index
        await environment(still_unit, "occupancy", people=5)
        async with Listener(client(still_unit, still_device.token)) as second:
            await second.connected()
            now = second.state.sensors.voc_index
            assert now != before
            await first.state_where(lambda s: s.sensors.voc_index == now)


# Heartbeats (docs/protocol.md, section 5: 10 s, dead after 30 s).


@pytest.mark.usefixtures("fast_reconnect")
async def test_silent_stream_is_considered_dead(
    still_unit: UnitServer, still_device: QradDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No message for the dead-link time (30 s, here 0.3 s): the client reconnects."""
    monkeypatch.setattr(device_module, "HEARTBEAT_TIMEOUT_S", 0.3)
    async with Listener(client(still_unit, still_device.token)) as listener:
        await listener.connected(times=2)
    assert listener.connection[:3] == [True, False, True]


async def test_heartbeats_keep_a_quiet_stream_alive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A unit with nothing to say still sends heartbeats, so the stream stays up."""
    monkeypatch.setattr(server_module, "HEARTBEAT_S", 0.05)
    monkeypatch.setattr(device_module, "HEARTBEAT_TIMEOUT_S", 0.5)
    config = FleetConfig(
        count=1, base_port=free_port(), speed=0, announce=False, auto_pair=True
    )
    async with Fleet(config) as fleet:
        unit = fleet.units[0]
        async with client(unit) as paired:
            await paired.pair("tests")
            async with Listener(client(unit, paired.token)) as listener:
                await listener.connected()
                await asyncio.sleep(1.0)
    assert listener.connection == [True]
