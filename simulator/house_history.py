"""The Q.rads' past week in Home Assistant's recorder, so that graphs start full.

Each emulated Q.rad started with its past lived (`python -m simulator
--history-days`); its history route (docs/protocol.md, section 7) serves it
hour by hour. This imports it as long-term statistics of the Q.rad's own
sensors, through the recorder's WebSocket API as an importer app would: room
temperature as means with their range, energy and money reimbursed as sums.

The imported sums are the meter's readings (from zero at installation). The
recorder counts its own sums from the sensor's first recorded state instead
(its zero point), so once it has compiled its first five minutes, its sums are
moved up by that first state: the two series join, and the Energy dashboard
shows one meter, before and after Home Assistant started. Statistics already
there (a second start of the demo) are left as they are.

`python -m simulator.house_history --url URL --token-file FILE` does it for
a running Home Assistant (scripts/develop runs it once the house is ready).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import logging
from pathlib import Path
import time
from typing import Any

import aiohttp

from simulator.cloud.scheduler import DEFAULT_TARIFF_EUR_PER_KWH

from .house import HomeAssistantApi, wait_until_up

_LOGGER = logging.getLogger(__name__)
FIRST_STATE_WAIT_S = 60.0
# The recorder compiles five-minute statistics about ten seconds after each.
FIRST_COMPILE_WAIT_S = 420.0
POLL_S = 5.0
# The recorder's mean types (StatisticMeanType).
NO_MEAN = 0
ARITHMETIC_MEAN = 1


@dataclass(frozen=True)
class Meter:
    """A sum statistic: which sensor, its unit, and its value for a meter reading."""

    entity_id: str
    unit: str
    unit_class: str | None
    of_kwh: Callable[[float], float]


@dataclass(frozen=True)
class QradSensors:
    """One paired Q.rad: where its past is served, and the sensors it fills."""

    name: str
    history_url: str
    temperature: str | None
    meters: list[Meter]


async def import_past(
    api: HomeAssistantApi, tariff_eur_per_kwh: float = DEFAULT_TARIFF_EUR_PER_KWH
) -> int:
    """Import every paired Q.rad's past; how many statistics were imported."""
    qrads = await _paired_qrads(api, tariff_eur_per_kwh)
    counts = await asyncio.gather(*(_import_qrad(api, qrad) for qrad in qrads))
    return sum(counts)


async def _import_qrad(api: HomeAssistantApi, qrad: QradSensors) -> int:
    async with api.session.get(qrad.history_url) as answer:
        answer.raise_for_status()
        hours: list[dict[str, Any]] = (await answer.json())["hours"]
    if not hours:
        return 0
    imported = 0
    if qrad.temperature and await _import_temperature(api, qrad.temperature, hours):
        imported += 1
    joined = await asyncio.gather(*(_import_meter(api, m, hours) for m in qrad.meters))
    imported += sum(joined)
    _LOGGER.info(
        "%s: %d statistics of %d hours imported", qrad.name, imported, len(hours)
    )
    return imported


async def _paired_qrads(
    api: HomeAssistantApi, tariff_eur_per_kwh: float
) -> list[QradSensors]:
    """Each paired Q.rad's emulator address and the entity ids of its sensors."""
    by_device = await api.qrad_entities_by_device()
    qrads = []
    for device in await api.ws("config/device_registry/list"):
        # The unit's own page (docs/protocol.md, section 3) is at its address's root.
        page = device.get("configuration_url") or ""
        if device["id"] not in by_device or not page.endswith("/"):
            continue
        keys = by_device[device["id"]]
        meters = []
        if "energy" in keys:
            meters.append(Meter(keys["energy"], "kWh", "energy", lambda kwh: kwh))
        if "reimbursed" in keys:
            meters.append(
                Meter(
                    keys["reimbursed"],
                    "EUR",
                    None,
                    lambda kwh: kwh * tariff_eur_per_kwh,
                )
            )
        qrads.append(
            QradSensors(
                name=device["name"],
                history_url=page + "_emulator/history",
                temperature=keys.get("temperature"),
                meters=meters,
            )
        )
    return qrads


async def _already_there(
    api: HomeAssistantApi, statistic_id: str, hours: list[dict[str, Any]]
) -> bool:
    rows = await api.ws(
        "recorder/statistics_during_period",
        start_time=hours[0]["start"],
        end_time=hours[-1]["start"],
        statistic_ids=[statistic_id],
        period="hour",
        types=["mean", "sum"],
    )
    return bool(rows.get(statistic_id))


async def _first_state(api: HomeAssistantApi, entity_id: str) -> tuple[float, datetime]:
    """The sensor's first recorded number and when: where the recorder starts.

    The hours imported are those that end before it, so that none is also
    compiled by the recorder.
    """
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    path = (
        f"/api/history/period/{since}?filter_entity_id={entity_id}"
        "&minimal_response&no_attributes"
    )
    deadline = time.monotonic() + FIRST_STATE_WAIT_S
    while True:
        for series in await api.get(path):
            for state in series:
                with contextlib.suppress(ValueError):
                    when = datetime.fromisoformat(state["last_changed"])
                    return float(state["state"]), when
        if time.monotonic() > deadline:
            raise TimeoutError(f"{entity_id} has recorded no number yet")
        await asyncio.sleep(1)


def _before(hours: list[dict[str, Any]], moment: datetime) -> list[dict[str, Any]]:
    """The hours that ended by `moment`."""
    return [
        hour
        for hour in hours
        if datetime.fromisoformat(hour["start"]) + timedelta(hours=1) <= moment
    ]


async def _import_temperature(
    api: HomeAssistantApi, entity_id: str, hours: list[dict[str, Any]]
) -> bool:
    if await _already_there(api, entity_id, hours):
        return False
    _, since = await _first_state(api, entity_id)
    stats = [
        {"start": hour["start"], **hour["temperature"]}
        for hour in _before(hours, since)
    ]
    return await _import(api, entity_id, "°C", "temperature", stats, has_sum=False)


async def _import_meter(
    api: HomeAssistantApi, meter: Meter, hours: list[dict[str, Any]]
) -> bool:
    """The meter's readings as sums, then the recorder's own sums joined to them."""
    if await _already_there(api, meter.entity_id, hours):
        return False
    zero, since = await _first_state(api, meter.entity_id)
    stats = []
    for hour in _before(hours, since):
        value = meter.of_kwh(hour["energy_kwh"])
        stats.append({"start": hour["start"], "state": value, "sum": value})
    if not await _import(
        api, meter.entity_id, meter.unit, meter.unit_class, stats, has_sum=True
    ):
        return False
    await _wait_for_first_compile(api, meter.entity_id, since)
    await api.ws(
        "recorder/adjust_sum_statistics",
        statistic_id=meter.entity_id,
        start_time=since.replace(minute=0, second=0, microsecond=0).isoformat(),
        adjustment=zero,
        adjustment_unit_of_measurement=meter.unit,
    )
    return True


async def _wait_for_first_compile(
    api: HomeAssistantApi, statistic_id: str, since: datetime
) -> None:
    """Until the recorder has its first five minutes of the sensor's sum."""
    deadline = time.monotonic() + FIRST_COMPILE_WAIT_S
    while True:
        rows = await api.ws(
            "recorder/statistics_during_period",
            start_time=(since - timedelta(minutes=5)).isoformat(),
            statistic_ids=[statistic_id],
            period="5minute",
            types=["sum"],
        )
        if rows.get(statistic_id):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the recorder compiled nothing of {statistic_id}")
        await asyncio.sleep(POLL_S)


async def _import(
    api: HomeAssistantApi,
    statistic_id: str,
    unit: str,
    unit_class: str | None,
    stats: list[dict[str, Any]],
    *,
    has_sum: bool,
) -> bool:
    if not stats:
        return False
    await api.ws(
        "recorder/import_statistics",
        metadata={
            "has_mean": not has_sum,
            "mean_type": NO_MEAN if has_sum else ARITHMETIC_MEAN,
            "has_sum": has_sum,
            "name": None,
            "source": "recorder",
            "statistic_id": statistic_id,
            "unit_class": unit_class,
            "unit_of_measurement": unit,
        },
        stats=stats,
    )
    return True


async def _main(url: str, token: str) -> int:
    async with aiohttp.ClientSession() as session:
        await wait_until_up(session, url, 300)
        return await import_past(HomeAssistantApi(session, url, token))


def main(argv: list[str] | None = None) -> None:
    """Import the paired Q.rads' past into a running Home Assistant."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator.house_history", description=__doc__
    )
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument(
        "--token-file", type=Path, required=True, help="an access token"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    imported = asyncio.run(_main(args.url, args.token_file.read_text().strip()))
    print(f"qrad: the Q.rads' past is in the recorder ({imported} statistics)")  # noqa: T201


if __name__ == "__main__":
    main()
