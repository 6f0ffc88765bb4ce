"""Helpers of the device-client tests: clients of emulated units, a listener."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from typing import Any, Self

import aiohttp

from custom_components.qrad.api import QradDevice, QradError, QradState
from simulator.clock import Clock
from simulator.device.server import UnitServer
from simulator.device.unit import QradUnitModel
from simulator.identity import make_identities


def client(unit: UnitServer, token: str | None = None, **kwargs: Any) -> QradDevice:
    """A client of that unit, at its current address."""
    return QradDevice(unit.host, unit.port, token=token, **kwargs)


def served_state(seed: int = 7) -> dict[str, Any]:
    """A full, valid state as the emulated Q.rad serves it."""
    identity = make_identities(1, seed)[0]
    return QradUnitModel(identity=identity, clock=Clock(0), seed=seed).wire_state()


async def bench(
    unit: UnitServer, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    """What the test bench does to a unit: GET (no body) or POST `/_emulator/<path>`."""
    url = f"http://{unit.host}:{unit.port}/_emulator/{path}"
    method = "GET" if body is None else "POST"
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, json=body) as answer,
    ):
        return answer.status, await answer.json()


async def fault(unit: UnitServer, name: str, **parameters: Any) -> None:
    """Inject an emulator fault (docs/protocol.md, section 7)."""
    status, answer = await bench(unit, "faults", {"fault": name, **parameters})
    assert (status, answer) == (200, {"ok": True})


async def environment(unit: UnitServer, event: str, **parameters: Any) -> None:
    """Make something happen in the unit's room."""
    status, answer = await bench(unit, "events", {"event": event, **parameters})
    assert (status, answer) == (200, {"ok": True})


class Listener:
    """Runs `QradDevice.listen` in the background and records what it reports."""

    def __init__(self, device: QradDevice, *, with_connection: bool = True) -> None:
        """Listen with `device`; without `with_connection`, pass no on_connection."""
        self.device = device
        self.states: list[QradState] = []
        self.connection: list[bool] = []
        self._with_connection = with_connection
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        """Start listening."""
        self._task = asyncio.create_task(
            self.device.listen(
                self._on_state, self._on_connection if self._with_connection else None
            )
        )
        self._task.add_done_callback(lambda _: self._changed.set())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        """Stop listening, and close the client (its own session, if it has one)."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, QradError):
            await self.task
        await self.device.close()

    @property
    def task(self) -> asyncio.Task[None]:
        """The task running `listen`."""
        assert self._task is not None
        return self._task

    @property
    def state(self) -> QradState:
        """The latest state reported."""
        assert self.states, "no state reported yet"
        return self.states[-1]

    def _on_state(self, state: QradState) -> None:
        self.states.append(state)
        self._changed.set()

    def _on_connection(self, connected: bool) -> None:  # noqa: FBT001
        self.connection.append(connected)
        self._changed.set()

    async def until(self, check: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `check()` holds; fail if the listener ends first.

        Checks again at each callback, and every 50 ms for conditions outside it.
        """
        async with asyncio.timeout(timeout):
            while not check():
                if self.task.done():
                    self.task.result()
                    raise AssertionError("the listener ended")
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.05)

    async def connected(self, times: int = 1) -> None:
        """Wait until the stream has come up `times` times."""
        await self.until(lambda: self.connection.count(True) >= times)

    async def state_where(
        self, check: Callable[[QradState], bool], timeout: float = 5.0
    ) -> QradState:
        """Wait for a reported state that passes `check`, and return it."""
        await self.until(lambda: bool(self.states) and check(self.states[-1]), timeout)
        return self.states[-1]
