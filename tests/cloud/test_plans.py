"""The controller's reading of a plan (docs/protocol.md 6.11): valid, or refused.

Whatever arrives on a plan topic either becomes a plan that meets 6.11 (bounded,
ordered, within its validity) or is refused with one of the protocol's reasons;
never another exception.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from simulator.cloud.endpoint import TlsFiles
from simulator.cloud.messages import (
    MAX_PLAN_BYTES,
    MAX_PLAN_CHANGES,
    Plan,
    PlanRefusedError,
)
from simulator.testing import CloudWorld, running_cloud_world

from .helpers import raw_client

SERIAL = "QR3-00A1B2"
NOW = datetime(2026, 11, 25, 7, 30, tzinfo=UTC)
REASONS = {"malformed", "too_large", "out_of_order", "past", "expired"}
SETTINGS = settings(
    deadline=None,
    max_examples=300,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def plan_body(**overrides: Any) -> dict[str, Any]:
    """A valid plan issued at NOW: comfort at 17:00, eco at 22:30."""
    body: dict[str, Any] = {
        "serial": SERIAL,
        "seq": 7,
        "source": "schedule",
        "issued_at": _z(NOW),
        "valid_until": _z(NOW + timedelta(hours=24)),
        "changes": [
            {"at": _z(NOW.replace(hour=17, minute=0)), "target_temperature": 21.0},
            {
                "at": _z(NOW.replace(hour=22, minute=30)),
                "target_temperature": 17.0,
                "preset": "eco",
            },
        ],
    }
    return body | overrides


def _parse(body: object) -> Plan:
    return Plan.parse(json.dumps(body), SERIAL, NOW)


def test_a_valid_plan_is_read_with_its_changes_in_order() -> None:
    """The upcoming changes are those after the moment asked, none once void."""
    plan = _parse(plan_body())
    assert [change.target_temperature for change in plan.changes] == [21.0, 17.0]
    assert plan.changes[1].preset == "eco"
    evening = NOW.replace(hour=18)
    assert [c.target_temperature for c in plan.upcoming(evening)] == [17.0]
    assert plan.upcoming(NOW + timedelta(hours=24)) == ()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (plan_body(serial="QR3-FFFFFF"), "malformed"),
        (plan_body(seq=0), "malformed"),
        (plan_body(changes=[{"at": _z(NOW), "target_temperature": 40}]), "malformed"),
        (plan_body(valid_until=_z(NOW + timedelta(days=8))), "malformed"),
        (
            plan_body(
                changes=[
                    {"at": _z(NOW + timedelta(minutes=i)), "target_temperature": 20}
                    for i in range(MAX_PLAN_CHANGES + 1)
                ]
            ),
            "too_large",
        ),
        (plan_body(source="x" * MAX_PLAN_BYTES), "too_large"),
        (
            plan_body(
                changes=list(reversed(plan_body()["changes"])),
            ),
            "out_of_order",
        ),
        (
            plan_body(
                changes=[{"at": _z(NOW - timedelta(hours=1)), "target_temperature": 20}]
            ),
            "past",
        ),
        (
            plan_body(
                issued_at=_z(NOW - timedelta(days=2)),
                valid_until=_z(NOW - timedelta(days=1)),
                changes=[],
            ),
            "expired",
        ),
    ],
)
def test_a_bad_plan_is_refused_with_its_reason(
    body: dict[str, Any], reason: str
) -> None:
    """Each refusal of 6.11 names its reason, which the status carries back."""
    with pytest.raises(PlanRefusedError) as refused:
        _parse(body)
    assert refused.value.reason == reason


def test_an_unknown_source_and_preset_are_tolerated() -> None:
    """Unknown enum values are read, not refused (section 1)."""
    changes = [{"at": _z(NOW), "target_temperature": 20.0, "preset": "siesta"}]
    plan = _parse(plan_body(source="calendar", changes=changes))
    assert (plan.source, plan.changes[0].preset) == ("calendar", "siesta")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.floats()
    | st.text(max_size=24),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
times = st.datetimes(
    min_value=datetime(2026, 11, 20),  # noqa: DTZ001 - hypothesis wants them naive
    max_value=datetime(2026, 12, 5),  # noqa: DTZ001
).map(lambda moment: _z(moment.replace(tzinfo=UTC)))
changes = st.fixed_dictionaries(
    {"at": times, "target_temperature": st.floats(0, 40) | json_values},
    optional={"preset": st.sampled_from(["comfort", "eco"]) | json_values},
)
plans = st.fixed_dictionaries(
    {
        "serial": st.just(SERIAL) | json_values,
        "seq": st.integers(-2, 10**9) | json_values,
        "source": st.sampled_from(["schedule", "service", "device"]) | json_values,
        "issued_at": times | json_values,
        "valid_until": times | json_values,
        "changes": st.lists(changes, max_size=6) | json_values,
    }
)


@SETTINGS
@given(body=plans | json_values)
def test_any_payload_is_a_valid_plan_or_refused_with_a_reason(body: object) -> None:
    """Never another exception; a plan read holds 6.11's invariants."""
    try:
        plan = _parse(body)
    except PlanRefusedError as err:
        reason = err.reason
    else:
        reason = None
    if reason is not None:
        assert reason in REASONS
        return
    assert plan.serial == SERIAL
    assert plan.seq >= 1
    assert plan.issued_at < plan.valid_until <= plan.issued_at + timedelta(days=7)
    assert plan.valid_until > NOW
    assert len(plan.changes) <= MAX_PLAN_CHANGES
    moments = [change.at for change in plan.changes]
    assert moments == sorted(set(moments))
    assert all(plan.issued_at <= at < plan.valid_until for at in moments)
    assert all(5.0 <= c.target_temperature <= 30.0 for c in plan.changes)


def test_bytes_that_are_not_json_are_malformed() -> None:
    """A torn payload is refused as malformed."""
    with pytest.raises(PlanRefusedError) as refused:
        Plan.parse(b"\xff{", SERIAL, NOW)
    assert refused.value.reason == "malformed"


async def _status_with(
    client: Any, topic: str, check: Any, within_s: float = 15
) -> dict[str, Any]:
    """The first status on `topic` for which `check` holds."""
    async with asyncio.timeout(within_s):
        async for message in client.messages:
            if message.topic.value == topic:
                status: dict[str, Any] = json.loads(message.payload)
                if check(status):
                    return status
    raise AssertionError("unreachable")


async def test_a_plan_is_applied_and_a_bad_one_refused_with_its_reason(
    cloud_world: CloudWorld,
) -> None:
    """Over the broker: the status acknowledges a plan; a refusal keeps it in force."""
    unit = cloud_world.fleet.units[0]
    serial = unit.unit.identity.serial
    account, secret = cloud_world.account_of(unit)
    now = cloud_world.fleet.clock.now()
    topic = f"qrad/v1/acct/{account}/{serial}"
    good = {
        "serial": serial,
        "seq": 3,
        "source": "service",
        "issued_at": _z(now),
        "valid_until": _z(now + timedelta(hours=24)),
        "changes": [{"at": _z(now + timedelta(hours=2)), "target_temperature": 21.0}],
    }
    bad = good | {"seq": 4, "changes": list(reversed(good["changes"] * 2))}
    async with raw_client(cloud_world, account, secret) as client:
        await client.subscribe(f"{topic}/status", qos=1)
        await client.publish(f"{topic}/plan", json.dumps(good), qos=1, retain=True)
        status = await _status_with(client, f"{topic}/status", lambda s: s["plan_seq"])
        assert (status["plan_seq"], status["plan_refused"]) == (3, None)
        await client.publish(f"{topic}/plan", json.dumps(bad), qos=1, retain=True)
        status = await _status_with(
            client, f"{topic}/status", lambda s: s["plan_refused"] is not None
        )
    assert status["plan_refused"] == {"seq": 4, "reason": "out_of_order"}
    assert status["plan_seq"] == 3


async def test_an_accelerated_world_heats_for_a_plan_made_on_the_wall_clock(
    cloud_tls: TlsFiles, tmp_path: Path
) -> None:
    """At 60x, a change a wall-clock minute ahead is an emulated hour ahead.

    Home Assistant plans in wall-clock time while the emulated rooms run 60
    times faster: the controller maps the plan onto its clock, and says the
    time it heats for back on the wall clock, as the plan gave it.
    """
    async with running_cloud_world(
        cloud_tls,
        tmp_path,
        broker_kind="embedded",
        count=1,
        accounts=1,
        policy="predictive",
    ) as world:
        unit = world.fleet.units[0]
        serial = unit.unit.identity.serial
        account, secret = world.account_of(unit)
        wall = datetime.now(UTC).replace(microsecond=0)
        change = wall + timedelta(minutes=1)
        plan = {
            "serial": serial,
            "seq": 1,
            "source": "service",
            "issued_at": _z(wall),
            "valid_until": _z(wall + timedelta(hours=24)),
            "changes": [
                {
                    "at": _z(change),
                    "target_temperature": unit.unit.thermostat.target + 2.0,
                }
            ],
        }
        topic = f"qrad/v1/acct/{account}/{serial}"
        async with raw_client(world, account, secret) as client:
            await client.subscribe(f"{topic}/status", qos=1)
            await client.publish(f"{topic}/plan", json.dumps(plan), qos=1, retain=True)
            status = await _status_with(
                client, f"{topic}/status", lambda s: s["preheating_for"] is not None
            )
    assert status["plan_seq"] == 1
    assert status["preheating_for"] == _z(change)
    assert status["power_target_w"] == 500.0
