"""The outbox keeps every setpoint across a restart, even when a fleet sends at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from custom_components.qrad.api import HvacMode, Preset
from custom_components.qrad.api.cloud_models import Heating, Origin, Setpoint
from custom_components.qrad.api.outbox import Outbox
from simulator.testing import FileStore

FLEET = 346


class SlowFileStore(FileStore):
    """A file store whose writes take a while, as Home Assistant's executor does."""

    def __init__(self, path: Path) -> None:
        """Keep the outbox at `path`; count the writes."""
        super().__init__(path)
        self.writes = 0
        self.failing = False

    async def async_save(self, data: dict[str, Any]) -> None:
        """Write the file after a pause; fail if told to."""
        await asyncio.sleep(0.01)
        if self.failing:
            raise OSError("disk full")
        self.writes += 1
        await super().async_save(data)


async def add(outbox: Outbox, serial: str, target: float) -> Setpoint:
    """A setpoint as the climate entity sends it."""
    heating = Heating(
        target_temperature=target,
        hvac_mode=HvacMode.HEAT,
        preset=Preset.NONE,
        power_limit_w=500.0,
    )
    return await outbox.add(serial, heating, Origin.USER)


async def test_a_whole_fleet_at_once_is_kept_in_a_few_writes(tmp_path: Path) -> None:
    """346 Q.rads' setpoints at once: each durable when accepted, none lost."""
    store = SlowFileStore(tmp_path / "outbox.json")
    outbox = Outbox(store)
    await outbox.load()
    first = await add(outbox, "QR3-000000", 19.0)
    accepted = await asyncio.gather(
        *(add(outbox, f"QR3-{n:06X}", 20.0 + n / 100) for n in range(FLEET))
    )
    # The first write, then one for all that came while it was on disk.
    assert store.writes <= 3

    restarted = Outbox(SlowFileStore(tmp_path / "outbox.json"))
    await restarted.load()
    assert restarted.pending == {setpoint.serial: setpoint for setpoint in accepted}
    assert restarted.next_seq("QR3-000000") == first.seq + 2


async def test_a_failed_write_fails_every_setpoint_it_held(tmp_path: Path) -> None:
    """No setpoint counts as accepted unless it is on disk; the next write works."""
    store = SlowFileStore(tmp_path / "outbox.json")
    outbox = Outbox(store)
    await outbox.load()
    store.failing = True
    results = await asyncio.gather(
        *(add(outbox, f"QR3-{n:06X}", 21.0) for n in range(20)), return_exceptions=True
    )
    assert all(isinstance(result, OSError) for result in results)

    store.failing = False
    kept = await add(outbox, "QR3-000000", 22.0)
    restarted = Outbox(FileStore(tmp_path / "outbox.json"))
    await restarted.load()
    assert restarted.pending["QR3-000000"] == kept


@pytest.mark.parametrize("cancelled", [1, 5])
async def test_a_caller_that_gives_up_does_not_stop_the_others(
    tmp_path: Path, cancelled: int
) -> None:
    """A cancelled caller (its entry unloading) leaves the shared write alone."""
    store = SlowFileStore(tmp_path / "outbox.json")
    outbox = Outbox(store)
    await outbox.load()
    calls = [
        asyncio.ensure_future(add(outbox, f"QR3-{n:06X}", 21.0)) for n in range(10)
    ]
    await asyncio.sleep(0)
    for call in calls[:cancelled]:
        call.cancel()
    done = await asyncio.gather(*calls[cancelled:])
    restarted = Outbox(FileStore(tmp_path / "outbox.json"))
    await restarted.load()
    for setpoint in done:
        assert restarted.pending[setpoint.serial] == setpoint


async def test_a_stopped_writer_leaves_nobody_waiting(tmp_path: Path) -> None:
    """Home Assistant stopping mid-save: the callers are told, none waits forever."""
    outbox = Outbox(SlowFileStore(tmp_path / "outbox.json"))
    await outbox.load()
    calls = [asyncio.ensure_future(add(outbox, f"QR3-{n:06X}", 21.0)) for n in range(5)]
    await asyncio.sleep(0.005)
    (writer,) = [
        task
        for task in asyncio.all_tasks()
        if task.get_coro().__qualname__ == "Outbox._write_all"  # type: ignore[union-attr]
    ]
    writer.cancel()
    async with asyncio.timeout(2):
        results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(result, asyncio.CancelledError) for result in results)
