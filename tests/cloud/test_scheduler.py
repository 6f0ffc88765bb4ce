"""The control loop of docs/protocol.md 6.8, period by period, without a broker."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from simulator.cloud.messages import MessageError, Setpoint, Telemetry
from simulator.cloud.scheduler import Outcome, Scheduler
from simulator.device.physics import Room

START = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
OWNERS = {"QR3-000001": "home-1", "QR3-000002": "home-1", "QR3-000003": "home-2"}


def setpoint(
    serial: str, seq: int, target: float = 21.0, **changes: object
) -> Setpoint:
    """A valid setpoint."""
    base = Setpoint(
        serial=serial,
        target_temperature=target,
        hvac_mode="heat",
        preset="none",
        power_limit_w=500.0,
        origin="user",
        timestamp=START,
        seq=seq,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def telemetry(serial: str, room: float, at: datetime, meter: float = 0.0) -> Telemetry:
    """A unit's report."""
    return Telemetry(
        serial=serial,
        room_temperature=room,
        target_temperature=19.0,
        hvac_mode="heat",
        power_w=0.0,
        power_limit_w=500.0,
        energy_kwh=meter,
        compute_tflop=0.0,
        control="cloud",
        timestamp=at,
    )


def test_latest_seq_wins_and_only_for_the_owner() -> None:
    """Duplicates and stale seqs are ignored; another account's setpoint too."""
    scheduler = Scheduler(owners=OWNERS)
    assert (
        scheduler.apply_setpoint("home-1", setpoint("QR3-000001", 5)) is Outcome.APPLIED
    )
    assert (
        scheduler.apply_setpoint("home-1", setpoint("QR3-000001", 5, 9.0))
        is Outcome.DUPLICATE
    )
    assert (
        scheduler.apply_setpoint("home-1", setpoint("QR3-000001", 4, 9.0))
        is Outcome.STALE
    )
    assert (
        scheduler.apply_setpoint("home-2", setpoint("QR3-000001", 9, 9.0))
        is Outcome.NOT_OWNED
    )
    assert (
        scheduler.apply_setpoint("home-1", setpoint("QR3-999999", 1))
        is Outcome.NOT_OWNED
    )
    ledger = scheduler.ledgers["QR3-000001"]
    assert ledger.setpoint is not None
    assert ledger.setpoint.seq == 5
    assert ledger.setpoint.target_temperature == 21.0


def test_cold_room_gets_full_power_and_paid_jobs() -> None:
    """1.5 °C or more below target: 500 W, jobs at 50 W each, 1.2 GFLOPS/W."""
    scheduler = Scheduler(owners=OWNERS)
    scheduler.apply_setpoint("home-1", setpoint("QR3-000001", 1, 21.0))
    scheduler.apply_telemetry(telemetry("QR3-000001", 17.0, START), START)
    (decision,) = [d for d in scheduler.run_period(START) if d.serial == "QR3-000001"]
    assert decision.control is not None
    assert decision.control["power_target_w"] == 500.0
    status = decision.status
    assert status["gflops"] == 600.0
    assert 0 < status["jobs_running"] <= 10  # type: ignore[operator]
    assert status["heat_share"] == pytest.approx(50 * status["jobs_running"] / 500)  # type: ignore[operator]


def test_no_demand_means_no_compute() -> None:
    """Heating off, or a warm room, gets no power and no jobs."""
    scheduler = Scheduler(owners=OWNERS)
    scheduler.apply_setpoint("home-1", setpoint("QR3-000001", 1, hvac_mode="off"))
    scheduler.apply_setpoint("home-1", setpoint("QR3-000002", 1, 18.0))
    for serial in ("QR3-000001", "QR3-000002"):
        scheduler.apply_telemetry(telemetry(serial, 24.0, START), START)
    for decision in scheduler.run_period(START)[:2]:
        assert decision.status["power_target_w"] == 0.0
        assert decision.status["jobs_running"] == 0
        assert decision.status["heat_source"] == "off"


def test_power_cap_is_honoured_and_reported() -> None:
    """A cap below the demand limits the power, and says so."""
    scheduler = Scheduler(owners=OWNERS)
    scheduler.apply_setpoint("home-1", setpoint("QR3-000001", 1, power_limit_w=200.0))
    scheduler.apply_telemetry(telemetry("QR3-000001", 15.0, START), START)
    decision = scheduler.run_period(START)[0]
    assert decision.status["power_target_w"] == 200.0
    assert decision.status["heat_source"] == "power_limited"


def test_silent_unit_is_reported_on_local_fallback() -> None:
    """Three periods without telemetry: no control, and the status says why."""
    scheduler = Scheduler(owners=OWNERS)
    scheduler.apply_telemetry(telemetry("QR3-000001", 18.0, START), START)
    later = START + timedelta(seconds=91)
    decision = scheduler.run_period(later)[0]
    assert decision.control is None
    assert decision.status["heat_source"] == "local_fallback"


def test_energy_account_only_grows_and_is_reimbursed() -> None:
    """Meter increases are accounted; a meter reset never takes energy back."""
    scheduler = Scheduler(owners=OWNERS, tariff_eur_per_kwh=0.25)
    serial = "QR3-000001"
    for minute, meter in enumerate([10.0, 10.5, 11.0, 0.2, 0.7]):
        at = START + timedelta(minutes=minute)
        scheduler.apply_telemetry(telemetry(serial, 18.0, at, meter), at)
    status = scheduler.status(scheduler.ledgers[serial], START)
    assert status["energy_kwh"] == pytest.approx(1.5)
    assert status["reimbursed_eur"] == pytest.approx(0.375)
    old = telemetry(serial, 18.0, START, 50.0)
    assert not scheduler.apply_telemetry(old, START)


def test_books_opened_at_the_meter_count_a_units_past() -> None:
    """With books from the meter, what a unit metered before is reimbursed too."""
    scheduler = Scheduler(owners=OWNERS, tariff_eur_per_kwh=0.25, books_from_meter=True)
    serial = "QR3-000001"
    for minute, meter in enumerate([40.0, 40.5]):
        at = START + timedelta(minutes=minute)
        scheduler.apply_telemetry(telemetry(serial, 18.0, at, meter), at)
    status = scheduler.status(scheduler.ledgers[serial], START)
    assert status["energy_kwh"] == pytest.approx(40.5)
    assert status["reimbursed_eur"] == pytest.approx(10.125)


def test_room_reaches_and_holds_the_setpoint_under_cloud_control() -> None:
    """The controller's PI brings a 15 °C room to 20 °C and holds it within 0.5 °C."""
    scheduler = Scheduler(owners={"QR3-000001": "home-1"})
    scheduler.apply_setpoint("home-1", setpoint("QR3-000001", 1, 20.0))
    room = Room.for_floor_area(20.0, 15.0)
    now = START
    temperatures = []
    for _ in range(int(24 * 3600 / 30)):
        scheduler.apply_telemetry(telemetry("QR3-000001", room.temperature, now), now)
        control = scheduler.run_period(now)[0].control
        assert control is not None
        power = float(control["power_target_w"])  # type: ignore[arg-type]
        room.step(30.0, power, 5.0, 1)
        temperatures.append(room.temperature)
        now += timedelta(seconds=30)
    reached = next(i for i, t in enumerate(temperatures) if t >= 19.5)
    assert reached * 30 < 6 * 3600
    assert all(abs(t - 20.0) <= 0.5 for t in temperatures[len(temperatures) // 2 :])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"[]", "object"),
        (b'{"serial": "QR3-000002"}', "serial"),
        (b'{"serial": "QR3-000001", "seq": 0}', "seq"),
        (
            (
                b'{"serial": "QR3-000001", "seq": 1, "preset": "none",'
                b' "target_temperature": NaN}'
            ),
            "NaN",
        ),
    ],
)
def test_bad_setpoints_are_refused_with_the_field(payload: bytes, field: str) -> None:
    """The controller names what is wrong instead of crashing."""
    with pytest.raises(MessageError, match=field):
        Setpoint.parse(payload, "QR3-000001")
