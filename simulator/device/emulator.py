"""The emulator's own routes, `/_emulator/*`: hands, environment and faults.

Real units do not have them (docs/protocol.md 7). They stand in for the owner
pressing the button, for the room (a phone put down, people, a window), and for
the faults a client must live through; and they show the emulator's inside
(`debug`, `history`). They are served on the unit's port without a token, beside
the protocol's routes, and act through the unit's server.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .history import PastHour
from .validation import ApiError, json_body, refuse_unknown_fields

if TYPE_CHECKING:
    from .server import UnitServer

OK = {"ok": True}


class EmulatorControl:
    """The `/_emulator/*` routes of one unit's server."""

    def __init__(self, server: UnitServer) -> None:
        """Act on `server`'s unit; no past until the fleet lives one."""
        self.server = server
        # The hours the unit lived before it started (history.live_past).
        self.past: list[PastHour] = []

    def routes(self) -> list[web.RouteDef]:
        """Every route of section 7."""
        return [
            web.post("/_emulator/button", self._button),
            web.post("/_emulator/pairing", self._pairing),
            web.post("/_emulator/faults", self._fault),
            web.post("/_emulator/events", self._environment),
            web.get("/_emulator/debug", self._debug),
            web.get("/_emulator/history", self._history),
        ]

    async def _button(self, _request: web.Request) -> web.Response:
        self.server.press_button()
        await self.server.send_event("button_pressed", {})
        return web.json_response(OK)

    async def _pairing(self, request: web.Request) -> web.Response:
        """Keep the pairing window open (as --auto-pair does), or only on a press."""
        body = await json_body(request)
        refuse_unknown_fields(body, {"auto"})
        auto = body.get("auto")
        if not isinstance(auto, bool):
            raise ApiError(400, "invalid_value", "auto must be true or false", "auto")
        self.server.auto_pair = auto
        return web.json_response(OK)

    async def _fault(self, request: web.Request) -> web.Response:
        server = self.server
        body = await json_body(request)
        fault = body.get("fault")
        if fault == "drop_websocket":
            await server.drop_streams()
        elif fault == "refuse_connections":
            seconds = _parameter(body, "seconds", 5.0)
            asyncio.get_running_loop().call_soon(
                server.in_background, lambda: server.refuse_connections(seconds)
            )
        elif fault == "slow":
            server.delay_s = _parameter(body, "delay_s", 5.0)
        elif fault == "reboot":
            await server.reboot()
        elif fault == "move":
            host, port = self._move_target(body)
            asyncio.get_running_loop().call_soon(
                server.in_background, lambda: server.move(host, port)
            )
        elif fault == "revoke_tokens":
            await server.revoke_tokens()
        elif fault == "malformed_payloads":
            server.garble_next = int(_parameter(body, "count", 1, whole=True))
        elif fault == "out_of_range_payloads":
            server.out_of_range_next = int(_parameter(body, "count", 1, whole=True))
        elif fault == "clear":
            server.delay_s = 0.0
            server.garble_next = server.out_of_range_next = 0
        else:
            raise ApiError(400, "invalid_value", f"unknown fault {fault!r}", "fault")
        return web.json_response(OK)

    def _move_target(self, body: dict[str, Any]) -> tuple[str, int]:
        """Where a `move` goes: as told, or, told nothing, a free address."""
        if "host" not in body and "port" not in body:
            return self.server.free_address()
        host = body.get("host", self.server.host)
        if not isinstance(host, str) or not host:
            raise ApiError(400, "invalid_value", "host must be an address", "host")
        return host, int(_parameter(body, "port", self.server.port, whole=True))

    async def _environment(self, request: web.Request) -> web.Response:
        server, unit = self.server, self.server.unit
        body = await json_body(request)
        event = body.get("event")
        if event in ("phone_placed", "phone_removed"):
            before = unit.wire_state()["charger"]
            unit.charger.phone_present = event == "phone_placed"
            await server.send_event(event, {})
            await server.push_section("charger", before)
        elif event == "client_join":
            before = unit.wire_state()["wifi"]
            now = unit.clock.now()
            if (
                client := unit.wifi.join(body.get("mac"), body.get("name"), now)
            ) is not None:
                await server.send_event("client_joined", {"mac": client.mac})
                await server.push_section("wifi", before)
        elif event == "client_leave":
            before = unit.wire_state()["wifi"]
            mac = str(body.get("mac", ""))
            if unit.wifi.leave(mac):
                await server.send_event("client_left", {"mac": mac})
                await server.push_section("wifi", before)
        elif event == "occupancy":
            # null hands the room back to its household's own comings and goings.
            unit.household.people_override = (
                None
                if "people" in body and body["people"] is None
                else int(_parameter(body, "people", 0, whole=True))
            )
        elif event == "window_open":
            minutes = _parameter(body, "minutes", 10.0)
            unit.household.open_window(minutes, unit.clock.now())
        elif event == "window_close":
            unit.household.open_window(0.0, unit.clock.now())
        else:
            raise ApiError(400, "invalid_value", f"unknown event {event!r}", "event")
        return web.json_response(OK)

    async def _history(self, _request: web.Request) -> web.Response:
        return web.json_response({"hours": [hour.wire() for hour in self.past]})

    async def _debug(self, _request: web.Request) -> web.Response:
        server, unit = self.server, self.server.unit
        return web.json_response(
            {
                "room_temperature": unit.room.temperature,
                "target_temperature": unit.thermostat.target,
                "hvac_mode": unit.thermostat.hvac_mode,
                "power_w": unit.power_w,
                "control": unit.control,
                "people": unit.people,
                "window_open": unit.household.window_open(unit.clock.now()),
                "host": server.host,
                "port": server.port,
                "delay_s": server.delay_s,
                "power_limit_w": unit.power_limit_w,
                "requests": dict(server.requests),
                "writes": list(server.write_log),
            }
        )


def _parameter(
    body: dict[str, Any], key: str, default: float, *, whole: bool = False
) -> float:
    """A non-negative emulator-control parameter (400 invalid_value if not)."""
    value = body.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (whole and value != int(value))
    ):
        kind = "a whole number" if whole else "a number"
        raise ApiError(400, "invalid_value", f"{key} must be {kind} >= 0", key)
    return float(value)
