"""The emulated house around Home Assistant, driven the way its apps drive it.

Everything here talks to a running Home Assistant over its REST and WebSocket
APIs, as the dashboard and the mobile app do: onboarding (a demo owner), logging
in, pairing discovered Q.rads through config flows, rooms and their French
names for Assist, and a ready dashboard. `scripts/develop` uses it to set the
demo up; the end-to-end tests use it to act as a user.

`python -m simulator.house --url http://127.0.0.1:8123 --directory FILE` sets a
fresh Home Assistant up (see `--help`).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
import json
import logging
from pathlib import Path
import time
from typing import Any

import aiohttp

from simulator.cloud.access import Directory
from simulator.house_dashboard import dashboard

_LOGGER = logging.getLogger(__name__)
CLIENT_ID = "http://127.0.0.1:8123/"
DEMO_NAME = "Demo owner"
DEMO_USER = "demo"
DEMO_PASSWORD = "qrad-demo"  # noqa: S105 - the demo's published login
# The demo's dashboard, in the sidebar beside Home Assistant's own overview.
DASHBOARD = "dashboard-qrads"
# French names of the emulated rooms, as area aliases for Assist in French.
FRENCH_ROOMS = {
    "Living room": "salon",
    "Bedroom": "chambre",
    "Office": "bureau",
    "Kitchen": "cuisine",
    "Kids room": "chambre des enfants",
    "Guest room": "chambre d'amis",
    "Dining room": "salle à manger",
    "Study": "bibliothèque",
}


# Where the demo house is, as its owner would say in onboarding's second step.
HOME = {
    "country": "FR",
    "currency": "EUR",
    "language": "en",
    "time_zone": "Europe/Paris",
    "unit_system": "metric",
    "latitude": 48.8566,
    "longitude": 2.3522,
    "elevation": 35,
}


class HomeAssistantError(RuntimeError):
    """Home Assistant answered with an error."""


def seed_onboarding(config: Path) -> None:
    """Mark onboarding's location step done in a Home Assistant not started yet.

    Finishing that step through its API also starts the flows of Google
    Translate, Met and Radio Browser, none of which can load here (their
    packages are not installed and they need the internet): a red card and
    tracebacks in a fresh demo. `onboard_or_login` sets the same location
    through the owner's API instead. Home Assistant migrates this file when its
    format changes; a Home Assistant already onboarded is left alone.
    """
    path = config / ".storage" / "onboarding"
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    seeded = {
        "version": 4,
        "minor_version": 1,
        "key": "onboarding",
        "data": {"done": ["core_config"]},
    }
    path.write_text(json.dumps(seeded))


async def wait_until_up(
    session: aiohttp.ClientSession, url: str, limit_s: float
) -> None:
    """Wait until Home Assistant's HTTP server answers."""
    deadline = time.monotonic() + limit_s
    while True:
        try:
            async with session.get(f"{url}/manifest.json") as answer:
                if answer.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"Home Assistant did not answer at {url}")
        await asyncio.sleep(0.5)


async def _tokens(session: aiohttp.ClientSession, url: str, code: str) -> str:
    async with session.post(
        f"{url}/auth/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID},
    ) as answer:
        answer.raise_for_status()
        access: str = (await answer.json())["access_token"]
        return access


async def onboard_or_login(
    session: aiohttp.ClientSession,
    url: str,
    *,
    username: str = DEMO_USER,
    password: str = DEMO_PASSWORD,
    language: str = "en",
) -> str:
    """Finish onboarding with a demo owner (once), or log in: an access token."""
    async with session.get(f"{url}/api/onboarding") as answer:
        steps = await answer.json() if answer.status == 200 else []
    user_done = all(step["done"] for step in steps if step["step"] == "user")
    if not user_done:
        async with session.post(
            f"{url}/api/onboarding/users",
            json={
                "client_id": CLIENT_ID,
                "name": DEMO_NAME,
                "username": username,
                "password": password,
                "language": language,
            },
        ) as answer:
            answer.raise_for_status()
            code = (await answer.json())["auth_code"]
    else:
        code = await _login_code(session, url, username, password)
    token = await _tokens(session, url, code)
    headers = {"Authorization": f"Bearer {token}"}
    pending = [step["step"] for step in steps if not step["done"]]
    if not user_done:
        await HomeAssistantApi(session, url, token).ws("config/core/update", **HOME)
    bodies: dict[str, Any] = {
        "core_config": {},
        "analytics": {},
        "integration": {"client_id": CLIENT_ID, "redirect_uri": CLIENT_ID},
    }
    for step in ("core_config", "analytics", "integration"):
        if step in pending:
            async with session.post(
                f"{url}/api/onboarding/{step}", json=bodies[step], headers=headers
            ) as answer:
                answer.raise_for_status()
    return token


async def _login_code(
    session: aiohttp.ClientSession, url: str, username: str, password: str
) -> str:
    async with session.post(
        f"{url}/auth/login_flow",
        json={
            "client_id": CLIENT_ID,
            "handler": ["homeassistant", None],
            "redirect_uri": CLIENT_ID,
        },
    ) as answer:
        flow_id = (await answer.json())["flow_id"]
    async with session.post(
        f"{url}/auth/login_flow/{flow_id}",
        json={"client_id": CLIENT_ID, "username": username, "password": password},
    ) as answer:
        result = await answer.json()
    if result.get("type") != "create_entry":
        raise HomeAssistantError(f"login refused: {result}")
    code: str = result["result"]
    return code


@dataclass
class HomeAssistantApi:
    """REST and WebSocket calls with one access token."""

    session: aiohttp.ClientSession
    url: str
    token: str

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str) -> Any:
        """GET a REST path."""
        async with self.session.get(
            f"{self.url}{path}", headers=self._headers
        ) as answer:
            if answer.status >= 400:
                raise HomeAssistantError(
                    f"GET {path}: {answer.status} {await answer.text()}"
                )
            return await answer.json()

    async def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """POST a REST path."""
        async with self.session.post(
            f"{self.url}{path}", json=dict(body or {}), headers=self._headers
        ) as answer:
            if answer.status >= 400:
                raise HomeAssistantError(
                    f"POST {path}: {answer.status} {await answer.text()}"
                )
            return await answer.json()

    async def delete(self, path: str) -> None:
        """DELETE a REST path (e.g. abandon a flow)."""
        async with self.session.delete(
            f"{self.url}{path}", headers=self._headers
        ) as answer:
            answer.raise_for_status()

    async def ws(self, command: str, **data: Any) -> Any:
        """One WebSocket command, on its own short connection."""
        async with self.session.ws_connect(f"{self.url}/api/websocket") as socket:
            await socket.receive_json()
            await socket.send_json({"type": "auth", "access_token": self.token})
            if (await socket.receive_json())["type"] != "auth_ok":
                raise HomeAssistantError("WebSocket authentication refused")
            await socket.send_json({"id": 1, "type": command, **data})
            while True:
                message = await socket.receive_json()
                if message.get("id") == 1 and message.get("type") == "result":
                    break
        if not message["success"]:
            raise HomeAssistantError(f"{command}: {message['error']}")
        return message["result"]

    async def state(self, entity_id: str) -> dict[str, Any] | None:
        """An entity's state object, or None."""
        try:
            state: dict[str, Any] = await self.get(f"/api/states/{entity_id}")
        except HomeAssistantError:
            return None
        return state

    async def call(self, domain: str, service: str, data: Mapping[str, Any]) -> Any:
        """Call a service, as a dashboard card does."""
        return await self.post(f"/api/services/{domain}/{service}", data)

    async def converse(self, text: str, language: str) -> dict[str, Any]:
        """Say a sentence to Assist."""
        result: dict[str, Any] = await self.post(
            "/api/conversation/process", {"text": text, "language": language}
        )
        return result

    async def qrad_entities(self) -> list[dict[str, Any]]:
        """The registry entries of the qrad integration's entities."""
        entries: list[dict[str, Any]] = await self.ws("config/entity_registry/list")
        return [entry for entry in entries if entry["platform"] == "qrad"]

    async def qrad_entities_by_device(self) -> dict[str, dict[str, str]]:
        """The enabled qrad entity ids of each device, by their description key."""
        by_device: dict[str, dict[str, str]] = {}
        for entry in await self.qrad_entities():
            if entry["device_id"] and entry["disabled_by"] is None:
                key = entry["unique_id"].split("_", 1)[1]
                by_device.setdefault(entry["device_id"], {})[key] = entry["entity_id"]
        return by_device


# Pairing discovered Q.rads.


async def discovered_qrads(api: HomeAssistantApi) -> list[dict[str, Any]]:
    """Config flows of Q.rads that Home Assistant discovered and offers."""
    flows: list[dict[str, Any]] = await api.ws("config_entries/flow/progress")
    return [
        flow
        for flow in flows
        if flow["handler"] == "qrad" and flow["context"].get("source") == "zeroconf"
    ]


async def pair_flow(
    api: HomeAssistantApi, flow_id: str, directory: Directory | None
) -> dict[str, Any]:
    """Confirm a discovered Q.rad, wait for its (auto-accepted) pairing, log in."""
    path = f"/api/config/config_entries/flow/{flow_id}"
    result: dict[str, Any] = await api.post(path, {})
    for _ in range(200):
        if result["type"] != "progress":
            break
        await asyncio.sleep(0.2)
        result = await api.post(path, {})
        if result["type"] == "progress_done":
            result = await api.post(path, {})
    if result.get("step_id") == "cloud_account" and directory is not None:
        account = result["description_placeholders"]["account"]
        broker = next(
            field.get("description", {}).get("suggested_value")
            for field in result["data_schema"]
            if field["name"] == "broker"
        )
        result = await api.post(
            path,
            {
                "broker": broker or "mqtt://127.0.0.1:1883",
                "password": directory.accounts[account],
                "verify_ssl": True,
                "ca_certificate": "",
            },
        )
    if result["type"] != "create_entry":
        raise HomeAssistantError(f"pairing did not finish: {result}")
    return result


async def pair_discovered(
    api: HomeAssistantApi, count: int, directory: Directory | None, limit_s: float
) -> int:
    """Pair up to `count` discovered Q.rads; how many were paired."""
    deadline = time.monotonic() + limit_s
    paired = 0
    while paired < count and time.monotonic() < deadline:
        flows = await discovered_qrads(api)
        if not flows:
            await asyncio.sleep(1)
            continue
        await pair_flow(api, flows[0]["flow_id"], directory)
        paired += 1
    return paired


# Rooms and the dashboard.


async def place_in_rooms(api: HomeAssistantApi) -> None:
    """Put each Q.rad in the area named after its room, with a French alias."""
    areas = {
        _area_key(area["name"]): area
        for area in await api.ws("config/area_registry/list")
    }
    devices = await api.ws("config/device_registry/list")
    for device in devices:
        if not any(ident[0] == "qrad" for ident in device["identifiers"]):
            continue
        room = device["name"]
        key = _area_key(room)
        if key not in areas:
            areas[key] = await api.ws("config/area_registry/create", name=room)
        area = areas[key]
        if room in FRENCH_ROOMS and FRENCH_ROOMS[room] not in area.get("aliases", []):
            area = await api.ws(
                "config/area_registry/update",
                area_id=area["area_id"],
                aliases=sorted({*area.get("aliases", []), FRENCH_ROOMS[room]}),
            )
            areas[key] = area
        if device.get("area_id") != area["area_id"]:
            await api.ws(
                "config/device_registry/update",
                device_id=device["id"],
                area_id=area["area_id"],
            )


def _area_key(name: str) -> str:
    """Home Assistant's own comparison of area names: case and spaces ignored."""
    return "".join(name.casefold().split())


def _is_qrad_entry(entry: dict[str, Any]) -> bool:
    """A Q.rad's entry, not a cloud account's (whose title says so)."""
    return entry["domain"] == "qrad" and not entry["title"].startswith("Cloud account")


async def track_wifi_clients(api: HomeAssistantApi) -> None:
    """Have every paired Q.rad track all its Wi-Fi clients (the demo's choice).

    The integration tracks none by default; the options flow is walked as the
    owner would: the menu, then the Wi-Fi clients step.
    """
    entries = await api.get("/api/config/config_entries/entry")
    for entry in entries:
        if not _is_qrad_entry(entry):
            continue
        flow = await api.post(
            "/api/config/config_entries/options/flow", {"handler": entry["entry_id"]}
        )
        path = f"/api/config/config_entries/options/flow/{flow['flow_id']}"
        if "clients" not in flow.get("menu_options", []):
            await api.delete(path)
            continue
        await api.post(path, {"next_step_id": "clients"})
        await api.post(
            path, {"track_clients": "all", "tracked_clients": [], "stale_days": 30}
        )


WEEKDAYS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)


async def follow_schedule(
    api: HomeAssistantApi,
    room: str,
    periods: Mapping[str, list[dict[str, str]]] | None,
    *,
    on: str = "comfort",
    off: str = "eco",
) -> str | None:
    """Make a schedule helper of `periods` and have the Q.rad named `room` follow it.

    `periods` maps weekdays to their `{"from": "HH:MM:SS", "to": ...}` periods;
    None stops the Q.rad following any. The helper is created (or its periods
    replaced) and chosen in the Q.rad's options as the owner would: the menu,
    then the schedule step. Returns the helper's entity id.
    """
    entity_id = None
    if periods is not None:
        name = f"{room} heating"
        week = {day: list(periods.get(day, [])) for day in WEEKDAYS}
        helpers = await api.ws("schedule/list")
        found = next((h for h in helpers if h["name"] == name), None)
        if found is None:
            found = await api.ws("schedule/create", name=name, **week)
        else:
            await api.ws("schedule/update", schedule_id=found["id"], name=name, **week)
        entity_id = f"schedule.{found['id']}"
    entry = await _qrad_entry(api, room)
    flow = await api.post(
        "/api/config/config_entries/options/flow", {"handler": entry["entry_id"]}
    )
    path = f"/api/config/config_entries/options/flow/{flow['flow_id']}"
    await api.post(path, {"next_step_id": "schedule"})
    chosen = {} if entity_id is None else {"schedule": entity_id}
    await api.post(
        path, {**chosen, "schedule_on_preset": on, "schedule_off_preset": off}
    )
    if entity_id is not None:
        # The Q.rad takes the helper's presets at its changes; until the next
        # one the owner sets the preset it says now, as they would by hand.
        await _take_the_present_preset(api, room, entity_id, on, off)
    return entity_id


async def _take_the_present_preset(
    api: HomeAssistantApi, room: str, schedule: str, on: str, off: str
) -> None:
    climate = await room_entity(api, room, "thermostat")
    # The options saved reload the entry: wait for the thermostat to be back.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        thermostat = await api.state(climate)
        if thermostat is not None and thermostat["state"] != "unavailable":
            break
        await asyncio.sleep(0.2)
    helper = await api.state(schedule)
    preset = on if helper is not None and helper["state"] == "on" else off
    await api.call(
        "climate", "set_preset_mode", {"entity_id": climate, "preset_mode": preset}
    )


async def _qrad_entry(api: HomeAssistantApi, room: str) -> dict[str, Any]:
    """The config entry of the Q.rad named `room`."""
    entries = await api.get("/api/config/config_entries/entry")
    for entry in entries:
        if _is_qrad_entry(entry) and entry["title"] == room:
            found: dict[str, Any] = entry
            return found
    raise LookupError(f"no paired Q.rad is named {room!r}")


async def room_entity(api: HomeAssistantApi, room: str, key: str) -> str:
    """The entity id of the Q.rad named `room` for a description `key`."""
    entry = await _qrad_entry(api, room)
    return next(
        str(e["entity_id"])
        for e in await api.qrad_entities()
        if e["config_entry_id"] == entry["entry_id"]
        and e["unique_id"].split("_", 1)[1] == key
    )


async def publish_dashboard(api: HomeAssistantApi) -> None:
    """Make the default dashboard show every Q.rad, and their energy in Energy."""
    entities = await api.qrad_entities()
    devices = await api.ws("config/device_registry/list")
    names = {device["id"]: device["name"] for device in devices}
    dashboards = await api.ws("lovelace/dashboards/list")
    if not any(board["url_path"] == DASHBOARD for board in dashboards):
        await api.ws(
            "lovelace/dashboards/create",
            url_path=DASHBOARD,
            title="Q.rads",
            icon="mdi:radiator",
            show_in_sidebar=True,
            require_admin=False,
            mode="storage",
        )
    await api.ws(
        "lovelace/config/save",
        url_path=DASHBOARD,
        config=dashboard(await api.qrad_entities_by_device(), names),
    )
    energy = [
        {"stat_consumption": entry["entity_id"]}
        for entry in entities
        if entry["unique_id"].endswith("_energy")
    ]
    await api.ws("energy/save_prefs", device_consumption=energy)


# The demo's scheduled room: comfort for the first 20 minutes of every hour.
# At 60x that is 20 emulated hours of comfort and 40 of eco, so a few minutes
# before each hour the cloud heats ahead and the thermostat says so.
DEMO_HOURS = [{"from": f"{h:02d}:00:00", "to": f"{h:02d}:20:00"} for h in range(24)]
DEMO_SCHEDULE = dict.fromkeys(WEEKDAYS, DEMO_HOURS)


async def set_up_house(
    url: str, directory: Directory | None, pair: int, *, scheduled: bool = False
) -> str:
    """Onboard, pair `pair` discovered Q.rads, place them, publish the dashboard.

    With `scheduled`, the second Q.rad (by name) follows DEMO_SCHEDULE.
    Returns an access token of the demo owner.
    """
    async with aiohttp.ClientSession() as session:
        await wait_until_up(session, url, 300)
        token = await onboard_or_login(session, url)
        api = HomeAssistantApi(session, url, token)
        configured = [
            entry
            for entry in await api.get("/api/config/config_entries/entry")
            if _is_qrad_entry(entry)
        ]
        missing = max(pair - len(configured), 0)
        paired = await pair_discovered(api, missing, directory, limit_s=120)
        _LOGGER.info("paired %d discovered Q.rad(s)", paired)
        await place_in_rooms(api)
        await track_wifi_clients(api)
        await publish_dashboard(api)
        rooms = sorted(
            entry["title"]
            for entry in await api.get("/api/config/config_entries/entry")
            if _is_qrad_entry(entry)
        )
        if scheduled and len(rooms) > 1:
            await follow_schedule(api, rooms[1], DEMO_SCHEDULE)
            # At 60x the hours of cooling after each setback fit in window
            # detection's 5 minutes, and would read as an open window.
            window = await room_entity(api, rooms[1], "window_detection")
            await api.call("switch", "turn_off", {"entity_id": window})
            _LOGGER.info("%s follows the schedule %s heating", rooms[1], rooms[1])
    return token


def main(argv: list[str] | None = None) -> None:
    """Set up a running Home Assistant as the demo house."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator.house", description=__doc__
    )
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument("--directory", type=Path, help="the fleet's registry (JSON)")
    parser.add_argument(
        "--pair", type=int, default=2, help="Q.rads to pair (default 2)"
    )
    parser.add_argument("--token-file", type=Path, help="write an access token there")
    parser.add_argument(
        "--scheduled-room",
        action="store_true",
        help="have the second Q.rad follow a schedule (comfort 20 min an hour)",
    )

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    directory = None
    if args.directory:
        # The fleet writes it as it starts, maybe after this command.
        deadline = time.monotonic() + 120
        while not args.directory.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        directory = Directory.load(args.directory)
    token = asyncio.run(
        set_up_house(args.url, directory, args.pair, scheduled=args.scheduled_room)
    )
    if args.token_file:
        args.token_file.write_text(token)
    print(  # noqa: T201
        json.dumps({"url": args.url, "username": DEMO_USER, "password": DEMO_PASSWORD}),
        flush=True,
    )


if __name__ == "__main__":
    main()
