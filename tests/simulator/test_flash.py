"""An emulated Q.rad restarted with its state folder keeps what a real one keeps."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from simulator.fleet import Fleet, FleetConfig
from simulator.testing import free_port


def _config(state_dir: Path) -> FleetConfig:
    return FleetConfig(
        count=1, announce=False, base_port=free_port(), speed=60, state_dir=state_dir
    )


async def _pair(http: aiohttp.ClientSession, fleet: Fleet) -> tuple[str, str]:
    unit = fleet.units[0]
    unit.press_button()
    async with http.post(
        f"{unit.url}/pairing", json={"client_name": "tests"}
    ) as answer:
        return unit.url, (await answer.json())["token"]


async def test_a_restarted_qrad_keeps_its_token_name_settings_and_meters(
    tmp_path: Path,
) -> None:
    """The token Home Assistant holds still works; the meter goes on, not from zero."""
    async with aiohttp.ClientSession() as http:
        async with Fleet(_config(tmp_path)) as fleet:
            url, token = await _pair(http, fleet)
            headers = {"Authorization": f"Bearer {token}"}
            for path, body in (
                ("device", {"name": "Nursery"}),
                ("thermostat", {"target_temperature": 22.5}),
            ):
                async with http.patch(f"{url}/{path}", json=body, headers=headers):
                    pass
            fleet.units[0].unit.energy_kwh = 12.5
        async with Fleet(_config(tmp_path)) as fleet:
            url = fleet.units[0].url
            async with http.get(f"{url}/state", headers=headers) as answer:
                assert answer.status == 200
                state = await answer.json()
    assert state["device"]["name"] == "Nursery"
    assert state["thermostat"]["target_temperature"] == 22.5
    assert state["meters"]["energy_kwh"] >= 12.5


async def test_an_unreadable_state_file_is_set_aside_and_the_qrad_starts_new(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A torn or hand-edited file is kept for a look, named in a warning."""
    async with aiohttp.ClientSession() as http, Fleet(_config(tmp_path)) as fleet:
        await _pair(http, fleet)
        fleet.units[0].unit.energy_kwh = 12.5
        serial = fleet.units[0].unit.identity.serial
    path = tmp_path / f"{serial}.json"
    path.write_text('{"version": 1, "tokens": ')
    async with Fleet(_config(tmp_path)) as fleet:
        assert fleet.units[0].tokens == {}
        assert fleet.units[0].unit.energy_kwh < 1.0
    assert (tmp_path / f"{serial}.bad").read_text() == '{"version": 1, "tokens": '
    assert f"{serial}: unreadable state file" in caplog.text
