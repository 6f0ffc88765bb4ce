"""The device client against an emulated Q.rad, over real sockets: every command."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import aiohttp
import pytest

from custom_components.qrad.api import (
    HvacAction,
    HvacMode,
    Preset,
    QradAuthenticationError,
    QradConnectionError,
    QradDevice,
    QradPairingError,
    QradRequestError,
    QradTimeoutError,
    QradUnsupportedError,
    SpeakerState,
)
from simulator.device import unit as unit_module
from simulator.device.server import UnitServer
from simulator.testing import free_port

from .support import Listener, client, environment

MUSIC = "http://192.168.1.10/radio.mp3"


# Identity and pairing.


async def test_info_is_public(qrad_unit: UnitServer) -> None:
    """Anyone on the LAN can read who the unit is, and that nobody paired yet."""
    async with client(qrad_unit) as device:
        info = await device.info()
    identity = qrad_unit.unit.identity
    assert (info.serial, info.mac, info.firmware) == (
        identity.serial,
        identity.mac,
        identity.firmware,
    )
    assert info.name == qrad_unit.unit.name
    assert info.api_version == 1
    assert info.paired is False


async def test_info_refuses_an_old_firmware(qrad_unit: UnitServer) -> None:
    """A unit older than firmware 3.0.0 is reported as unsupported, not guessed at."""
    qrad_unit.unit.identity = dataclasses.replace(
        qrad_unit.unit.identity, firmware="2.9.9"
    )
    async with client(qrad_unit) as device:
        with pytest.raises(QradUnsupportedError, match=r"2\.9\.9"):
            await device.info()


async def test_other_api_version_is_unsupported(
    qrad_unit: UnitServer, qrad_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit speaking another major version is refused by info and by state."""
    monkeypatch.setattr(unit_module, "API_VERSION", 2)
    async with client(qrad_unit, qrad_token) as device:
        with pytest.raises(QradUnsupportedError, match="API version 2"):
            await device.info()
        with pytest.raises(QradUnsupportedError, match="API version 2"):
            await device.state()


async def test_pairing_needs_the_button(qrad_unit: UnitServer) -> None:
    """No token without a press; after a press, one token that the client then uses."""
    async with client(qrad_unit) as device:
        with pytest.raises(QradPairingError):
            await device.pair("tests")
        qrad_unit.press_button()
        result = await device.pair("tests")
        assert device.token == result.token
        assert len(result.token) == 43
        assert len(result.token_id) == 8
        assert result.token not in repr(result)
        state = await device.state()
        assert state.device.serial == qrad_unit.unit.identity.serial
        assert (await device.info()).paired is True
        # One token per press: the window closed again.
        with pytest.raises(QradPairingError):
            await device.pair("another")


async def test_pairing_refuses_a_bad_client_name(qrad_unit: UnitServer) -> None:
    """An empty client name is refused, naming the field, and costs no press."""
    qrad_unit.press_button()
    async with client(qrad_unit) as device:
        with pytest.raises(QradRequestError) as caught:
            await device.pair("")
        assert (caught.value.code, caught.value.field) == (
            "invalid_value",
            "client_name",
        )
        assert (await device.pair("Home Assistant")).token


async def test_revoking_tokens(qrad_unit: UnitServer, qrad_token: str) -> None:
    """A revoked token is refused from then on; an unknown id is not found."""
    qrad_unit.press_button()
    async with client(qrad_unit) as other:
        other_id = (await other.pair("other")).token_id
        async with client(qrad_unit, qrad_token) as device:
            await device.revoke_token(other_id)
            with pytest.raises(QradAuthenticationError):
                await other.state()
            with pytest.raises(QradRequestError) as caught:
                await device.revoke_token(other_id)
            assert caught.value.code == "not_found"
            await device.state()


async def test_a_client_can_revoke_its_own_token(qrad_unit: UnitServer) -> None:
    """Revoking its own token leaves the client unpaired."""
    qrad_unit.press_button()
    async with client(qrad_unit) as device:
        result = await device.pair("tests")
        await device.revoke_token(result.token_id)
        with pytest.raises(QradAuthenticationError):
            await device.state()
        assert (await device.info()).paired is False


async def test_wrong_token_is_an_authentication_error(qrad_unit: UnitServer) -> None:
    """A token the unit does not know asks for pairing again, and is never shown."""
    async with client(qrad_unit, "not-a-token") as device:
        with pytest.raises(QradAuthenticationError):
            await device.state()
        with pytest.raises(QradAuthenticationError):
            await device.listen(lambda _: None)
        assert "not-a-token" not in repr(device)


async def test_no_token_means_pair_first(qrad_unit: UnitServer) -> None:
    """Without a token, commands and the event stream ask for pairing."""
    async with client(qrad_unit) as device:
        with pytest.raises(QradAuthenticationError, match="pair"):
            await device.set_charger(enabled=False)
        with pytest.raises(QradAuthenticationError, match="pair"):
            await device.listen(lambda _: None)
    assert qrad_unit.unit.charger.enabled is True


# State and thermostat.


async def test_state_is_the_units_state(
    qrad_unit: UnitServer, device: QradDevice
) -> None:
    """The whole state, section by section, is what the unit holds."""
    state = await device.state()
    unit = qrad_unit.unit
    assert state.device.name == unit.name
    assert state.device.boot_id == unit.boot_id
    assert state.thermostat.target_temperature == unit.thermostat.target
    assert state.thermostat.preset_temperatures == unit.thermostat.preset_temperatures
    assert state.speaker.sources == ["network", "bluetooth"]
    assert state.wifi.ssid == unit.wifi.ssid
    cloud = unit.wire_state()["cloud"]
    assert (state.cloud.account, state.cloud.broker) == (
        cloud["account"],
        cloud["broker"],
    )
    assert device.last_state is None, "only the event stream caches a state"


async def test_thermostat_target_and_presets(
    qrad_unit: UnitServer, device: QradDevice
) -> None:
    """A target by hand clears the preset; a preset brings its temperature."""
    thermostat = await device.set_thermostat(target_temperature=21.5)
    assert thermostat.target_temperature == 21.5
    assert thermostat.preset is Preset.NONE
    thermostat = await device.set_thermostat(preset=Preset.ECO)
    assert thermostat.target_temperature == 17.5
    thermostat = await device.set_thermostat(preset_temperatures={Preset.ECO: 16.0})
    assert thermostat.target_temperature == 16.0
    assert thermostat.preset_temperatures[Preset.ECO] == 16.0
    thermostat = await device.set_thermostat(preset=Preset.NONE)
    assert (thermostat.preset, thermostat.target_temperature) == (Preset.NONE, 16.0)
    assert qrad_unit.unit.thermostat.target == 16.0


async def test_preset_boost_boosts_by_default(device: QradDevice) -> None:
    """Choosing the boost preset raises the target by 2 C until boost_until."""
    before = await device.set_thermostat(target_temperature=19.0)
    thermostat = await device.set_thermostat(preset=Preset.BOOST)
    assert thermostat.preset is Preset.BOOST
    assert thermostat.target_temperature == before.target_temperature + 2.0
    assert thermostat.boost_until is not None


async def test_heating_off_and_day_schedule(
    qrad_unit: UnitServer, device: QradDevice
) -> None:
    """Off stops heating; auto follows the unit's comfort/eco day schedule."""
    thermostat = await device.set_thermostat(hvac_mode=HvacMode.OFF)
    assert thermostat.hvac_action is HvacAction.OFF
    await device.set_thermostat(preset=Preset.AWAY)
    async with Listener(client(qrad_unit, device.token)) as listener:
        await listener.connected()
        await device.set_thermostat(hvac_mode=HvacMode.AUTO)
        state = await listener.state_where(
            lambda s: s.thermostat.preset in {Preset.COMFORT, Preset.ECO}
        )
    thermostat = state.thermostat
    assert thermostat.hvac_mode is HvacMode.AUTO
    assert (
        thermostat.target_temperature
        == thermostat.preset_temperatures[thermostat.preset]
    )


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"target_temperature": 31.0}, "invalid_value", "target_temperature"),
        ({"target_temperature": 20.3}, "invalid_value", "target_temperature"),
        ({"hvac_mode": "cool"}, "invalid_value", "hvac_mode"),
        ({"preset": "sauna"}, "invalid_value", "preset"),
        (
            {"target_temperature": 20.0, "preset": Preset.ECO},
            "invalid_value",
            "preset",
        ),
        (
            {"preset_temperatures": {"sauna": 20.0}},
            "unknown_field",
            "preset_temperatures",
        ),
        ({"preset_temperatures": {Preset.ECO: 4.5}}, "invalid_value", "eco"),
        ({}, "invalid_value", None),
    ],
)
async def test_bad_thermostat_writes_are_refused_whole(
    qrad_unit: UnitServer,
    device: QradDevice,
    changes: dict[str, object],
    code: str,
    field: str | None,
) -> None:
    """The unit names the offending field and changes nothing."""
    before = qrad_unit.unit.wire_state()["thermostat"]
    with pytest.raises(QradRequestError) as caught:
        await device.set_thermostat(**changes)  # type: ignore[arg-type]
    assert caught.value.code == code
    if field is not None:
        assert caught.value.field == field
    assert qrad_unit.unit.wire_state()["thermostat"] == before


async def test_boost_raises_then_returns(
    qrad_unit: UnitServer, device: QradDevice
) -> None:
    """A one-minute boost (one second at 60x) raises the target, then gives it back."""
    async with Listener(client(qrad_unit, device.token)) as listener:
        await listener.connected()
        before = listener.state.thermostat
        thermostat = await device.boost(1, 1.0)
        assert thermostat.preset is Preset.BOOST
        assert thermostat.target_temperature == before.target_temperature + 1.0
        assert thermostat.boost_until is not None
        remaining = thermostat.boost_until - qrad_unit.unit.clock.now()
        assert 0 < remaining.total_seconds() <= 60
        after = await listener.state_where(
            lambda s: s.thermostat.preset is not Preset.BOOST
        )
    assert after.thermostat.preset is before.preset
    assert after.thermostat.target_temperature == before.target_temperature
    assert after.thermostat.boost_until is None


@pytest.mark.parametrize(
    ("minutes", "delta", "field"),
    [(0, None, "minutes"), (241, None, "minutes"), (10, 6.0, "delta")],
)
async def test_bad_boosts_are_refused(
    device: QradDevice, minutes: int, delta: float | None, field: str
) -> None:
    """Boosts outside 1-240 minutes or 0.5-5.0 C are refused, naming the field."""
    with pytest.raises(QradRequestError) as caught:
        await device.boost(minutes, delta)
    assert (caught.value.code, caught.value.field) == ("invalid_value", field)


# Speaker.


async def test_speaker_settings(device: QradDevice) -> None:
    """Volume, mute and source stick; power off turns the speaker off."""
    speaker = await device.set_speaker(volume=0.6, muted=True, source="bluetooth")
    assert (speaker.volume, speaker.muted, speaker.source) == (0.6, True, "bluetooth")
    speaker = await device.set_speaker(power=False)
    assert (speaker.power, speaker.state) == (False, SpeakerState.OFF)
    with pytest.raises(QradRequestError) as caught:
        await device.play(MUSIC)
    assert caught.value.code == "not_available"
    speaker = await device.set_speaker(power=True)
    assert speaker.state is SpeakerState.IDLE


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"volume": 1.5}, "volume"), ({"source": "spotify"}, "source")],
)
async def test_bad_speaker_settings_are_refused(
    qrad_unit: UnitServer, device: QradDevice, changes: dict[str, object], field: str
) -> None:
    """An out-of-range volume or unknown source is refused and changes nothing."""
    before = qrad_unit.unit.wire_state()["speaker"]
    with pytest.raises(QradRequestError) as caught:
        await device.set_speaker(**changes)  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.field) == ("invalid_value", field)
    assert qrad_unit.unit.wire_state()["speaker"] == before


async def test_an_empty_write_is_refused(device: QradDevice) -> None:
    """A write that changes nothing is a caller's mistake, reported as such."""
    with pytest.raises(QradRequestError) as caught:
        await device.set_speaker()
    assert caught.value.code == "invalid_value"


async def test_playback(device: QradDevice) -> None:
    """Play, pause, resume and stop move the speaker through its states."""
    speaker = await device.play(MUSIC, title="Morning radio")
    assert speaker.state is SpeakerState.PLAYING
    assert speaker.media is not None
    assert (speaker.media.url, speaker.media.title) == (MUSIC, "Morning radio")
    assert (await device.pause()).state is SpeakerState.PAUSED
    with pytest.raises(QradRequestError) as caught:
        await device.pause()
    assert caught.value.code == "not_available"
    assert (await device.resume()).state is SpeakerState.PLAYING
    speaker = await device.stop()
    assert (speaker.state, speaker.media) == (SpeakerState.IDLE, None)
    with pytest.raises(QradRequestError) as caught:
        await device.resume()
    assert caught.value.code == "not_available"


async def test_announcement_plays_over_the_music(device: QradDevice) -> None:
    """An announcement is flagged as such and plays its own URL."""
    await device.play(MUSIC)
    speaker = await device.play("https://ha.local/tts/door.mp3", announce=True)
    assert speaker.announcing is True
    assert speaker.media is not None
    assert speaker.media.url == "https://ha.local/tts/door.mp3"


@pytest.mark.parametrize(
    ("url", "title", "field"),
    [
        ("ftp://192.168.1.10/radio.mp3", None, "url"),
        (MUSIC, "t" * 129, "title"),
    ],
)
async def test_bad_play_requests_are_refused(
    device: QradDevice, url: str, title: str | None, field: str
) -> None:
    """Only http(s) URLs play, with titles of at most 128 characters."""
    with pytest.raises(QradRequestError) as caught:
        await device.play(url, title=title)
    assert (caught.value.code, caught.value.field) == ("invalid_value", field)


async def test_oversized_request_is_refused(
    qrad_unit: UnitServer, device: QradDevice
) -> None:
    """A body over 16 KiB is refused as too large, and nothing plays."""
    with pytest.raises(QradRequestError) as caught:
        await device.play(MUSIC + "?" + "a" * 17_000)
    assert caught.value.code == "payload_too_large"
    assert qrad_unit.unit.speaker.media is None


# Wi-Fi, charger, name.


async def test_wifi_access_point(qrad_unit: UnitServer, device: QradDevice) -> None:
    """SSID and passphrase change; the passphrase is never shown; off drops clients."""
    passphrase = "correct horse battery"
    wifi = await device.set_wifi(ssid="Attic", passphrase=passphrase)
    assert wifi.ssid == "Attic"
    assert passphrase not in json.dumps(wifi.to_dict())
    assert passphrase not in json.dumps(qrad_unit.unit.wire_state())
    await environment(qrad_unit, "client_join", mac="3c:22:fb:10:20:30")
    assert [c.mac for c in (await device.state()).wifi.clients] == ["3c:22:fb:10:20:30"]
    wifi = await device.set_wifi(enabled=False)
    assert (wifi.enabled, wifi.clients) == (False, [])


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"passphrase": "short"}, "passphrase"), ({"ssid": "x" * 33}, "ssid")],
)
async def test_bad_wifi_settings_are_refused(
    device: QradDevice, changes: dict[str, str], field: str
) -> None:
    """A passphrase under 8 characters or an SSID over 32 is refused."""
    with pytest.raises(QradRequestError) as caught:
        await device.set_wifi(**changes)
    assert (caught.value.code, caught.value.field) == ("invalid_value", field)


async def test_charger(qrad_unit: UnitServer, device: QradDevice) -> None:
    """A phone charges; with the charger off it is still seen but not charged."""
    await environment(qrad_unit, "phone_placed")
    charger = (await device.state()).charger
    assert (charger.phone_present, charger.charging) == (True, True)
    assert charger.power_w > 0
    charger = await device.set_charger(enabled=False)
    assert (charger.enabled, charger.phone_present, charger.charging) == (
        False,
        True,
        False,
    )
    assert charger.power_w == 0


async def test_rename(qrad_unit: UnitServer, device: QradDevice) -> None:
    """A new name shows in the state and in the public info."""
    assert (await device.set_name("Attic")).name == "Attic"
    assert (await device.info()).name == "Attic"
    with pytest.raises(QradRequestError) as caught:
        await device.set_name("bell\x07")
    assert (caught.value.code, caught.value.field) == ("invalid_value", "name")
    assert qrad_unit.unit.name == "Attic"


async def test_unknown_paths_and_methods(device: QradDevice) -> None:
    """A path the unit does not serve, or a wrong method, is a request error."""
    with pytest.raises(QradRequestError) as caught:
        await device._request("GET", "/sauna")
    assert caught.value.code == "not_found"
    with pytest.raises(QradRequestError) as caught:
        await device._request("DELETE", "/thermostat")
    assert caught.value.code == "method_not_allowed"


async def test_unknown_fields_are_refused(device: QradDevice) -> None:
    """A typo in a write body is refused, naming the field, not ignored."""
    with pytest.raises(QradRequestError) as caught:
        await device._request("PATCH", "/charger", {"enabled": True, "colour": "red"})
    assert (caught.value.code, caught.value.field) == ("unknown_field", "colour")


# Event stream.


async def test_listen_gets_snapshot_then_updates(
    qrad_unit: UnitServer, device: QradDevice
) -> None:
    """Changes made elsewhere reach a listening client, which says it is connected."""
    async with Listener(client(qrad_unit, device.token)) as listener:
        await listener.connected()
        assert listener.device.connected is True
        assert listener.states[0].device.serial == qrad_unit.unit.identity.serial
        await device.set_thermostat(target_temperature=23.0)
        state = await listener.state_where(
            lambda s: s.thermostat.target_temperature == 23.0
        )
        assert listener.device.last_state == state
    assert listener.connection == [True]
    assert listener.device.connected is False


async def test_listen_without_connection_callback(
    qrad_unit: UnitServer, device: QradDevice
) -> None:
    """on_connection is optional: states still arrive."""
    listening = client(qrad_unit, device.token)
    async with Listener(listening, with_connection=False) as listener:
        await device.set_charger(enabled=False)
        state = await listener.state_where(lambda s: not s.charger.enabled)
    assert listener.connection == []
    assert state.device.serial == qrad_unit.unit.identity.serial


async def test_revoked_token_ends_only_its_own_stream(
    qrad_unit: UnitServer, device: QradDevice
) -> None:
    """Revoking one client's token ends its listener (pair again); others go on."""
    qrad_unit.press_button()
    other = client(qrad_unit)
    async with (
        other,
        Listener(client(qrad_unit, device.token)) as kept,
    ):
        other_id = (await other.pair("other")).token_id
        async with Listener(other) as revoked:
            await kept.connected()
            await revoked.connected()
            await device.revoke_token(other_id)
            with pytest.raises(QradAuthenticationError):
                await asyncio.wait_for(revoked.task, 5)
            assert revoked.connection == [True, False]
        await device.set_thermostat(target_temperature=22.5)
        await kept.state_where(lambda s: s.thermostat.target_temperature == 22.5)
        assert kept.connection == [True]


# Transport and session.


async def test_slow_unit_times_out(qrad_unit: UnitServer, qrad_token: str) -> None:
    """A unit that answers too slowly gives a timeout, not a hang."""
    qrad_unit.delay_s = 0.5
    async with client(qrad_unit, qrad_token, request_timeout=0.2) as device:
        with pytest.raises(QradTimeoutError):
            await device.state()


async def test_nobody_listening_is_a_connection_error() -> None:
    """A port nobody listens on gives a connection error that names the host."""
    async with QradDevice("127.0.0.1", free_port(), token="t") as device:
        with pytest.raises(QradConnectionError, match=r"127\.0\.0\.1"):
            await device.state()


async def test_rate_limit_is_waited_out(
    qrad_unit: UnitServer, device: QradDevice
) -> None:
    """More requests than the unit allows are retried after Retry-After, not lost."""
    results = await asyncio.gather(*(device.state() for _ in range(25)))
    assert len(results) == 25


async def test_own_session_is_closed_and_reopened(
    qrad_unit: UnitServer, qrad_token: str
) -> None:
    """The client closes the session it created, and makes a new one if used again."""
    device = client(qrad_unit, qrad_token)
    async with device:
        await device.state()
        session = device._session
        assert session is not None
    assert session.closed
    await device.state()
    assert device._session is not None
    assert device._session is not session
    await device.close()
    assert device._session is None


async def test_injected_session_is_left_open(
    qrad_unit: UnitServer, qrad_token: str
) -> None:
    """Commands and stream use the caller's session, which the client never closes."""
    async with aiohttp.ClientSession() as session:
        device = QradDevice(
            qrad_unit.host, qrad_unit.port, token=qrad_token, session=session
        )
        async with device, Listener(device) as listener:
            await listener.connected()
            await device.state()
        assert device._session is session
        assert not session.closed


def test_addresses_and_repr() -> None:
    """IPv6 addresses are bracketed in URLs; repr names the unit, never the token."""
    device = QradDevice("fd00::5", 8080, token="secret-token")
    assert device._base_url == "http://[fd00::5]:8080/api/v1"
    assert repr(device) == "QradDevice(host='fd00::5', port=8080)"
    assert QradDevice("192.168.1.5")._base_url == "http://192.168.1.5:8080/api/v1"
