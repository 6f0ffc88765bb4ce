"""One policy over the building, in-process: the Scheduler drives the rooms.

No socket and no clock: each control period the rooms report (telemetry),
the scheduler decides (`Scheduler.run_period`), and each room is advanced one
period under the power it was given. Setpoints change with the flats'
schedules, published as the integration would (seq + 1 each time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
import statistics

from simulator.cloud.compute import JobClass
from simulator.cloud.messages import Setpoint, Telemetry
from simulator.cloud.scheduler import CONTROL_PERIOD_S, Scheduler
from simulator.cloud.trace import Trace
from simulator.device.physics import Room

from .scenario import RoomSpec, moments, outdoor

BAND_K = 0.5


@dataclass(kw_only=True)
class Recovery:
    """A rise of the setpoint and when the room got there."""

    serial: str
    at: datetime
    reached_s: float | None = None


@dataclass(kw_only=True)
class Result:
    """What one policy did to the building."""

    policy: str
    rooms: int
    hours: float
    degree_hours: float = 0.0
    degree_hours_above: float = 0.0
    within_band_share: float = 0.0
    max_overshoot_k: float = 0.0
    max_undershoot_k: float = 0.0
    recovery_median_min: float | None = None
    recovery_p90_min: float | None = None
    recoveries_unreached: int = 0
    high_arrived: int = 0
    high_done: int = 0
    high_missed: int = 0
    low_done: int = 0
    jobs_killed: int = 0
    paid_gflop: float = 0.0
    filler_gflop: float = 0.0
    energy_kwh: float = 0.0
    reimbursed_eur: float = 0.0
    traces: dict[str, list[tuple[float, float, float, float]]] = field(
        default_factory=dict
    )


def simulate(  # noqa: C901, PLR0912, PLR0915 (one loop reads best whole)
    policy: str,
    rooms: list[RoomSpec],
    trace: Trace,
    *,
    days: float,
    seed: int,
    plotted: tuple[str, ...] = (),
    period_s: float = CONTROL_PERIOD_S,
) -> Result:
    """Run `policy` over `rooms` for `days`; record `plotted` rooms' curves."""
    scheduler = Scheduler(
        owners={room.serial: room.flat.account for room in rooms},
        policy=policy,
        trace=trace,
        period_s=period_s,
        weather=lambda moment: outdoor(moment, seed),
        areas={room.serial: room.area_m2 for room in rooms},
    )
    times = moments(days, period_s)
    start = times[0]
    states: dict[str, Room] = {}
    for room in rooms:
        _, target = room.flat.target(start)
        states[room.serial] = Room(
            parameters=room.parameters,
            temperature=target,
            fabric_temperature=room.parameters.steady_fabric(
                target, outdoor(start, seed)
            ),
        )
    seqs = dict.fromkeys(states, 0)
    targets: dict[str, float] = {}
    power = dict.fromkeys(states, 0.0)
    meters = dict.fromkeys(states, 0.0)
    result = Result(policy=policy, rooms=len(rooms), hours=days * 24)
    recoveries: list[Recovery] = []
    open_recovery: dict[str, Recovery] = {}
    # Rooms cooling down after a lowered setpoint: not an overshoot yet.
    cooling: set[str] = set()
    inside = 0
    samples = 0
    hours = period_s / 3600
    for now in times:
        outside = outdoor(now, seed)
        for room in rooms:
            serial = room.serial
            preset, target = room.flat.target(now)
            if targets.get(serial) != target:
                if serial in targets and target > targets[serial]:
                    rise = Recovery(serial=serial, at=now)
                    recoveries.append(rise)
                    open_recovery[serial] = rise
                elif serial in open_recovery:
                    del open_recovery[serial]
                if serial in targets and target < targets[serial]:
                    cooling.add(serial)
                targets[serial] = target
                seqs[serial] += 1
                scheduler.apply_setpoint(
                    room.flat.account,
                    Setpoint(
                        serial=serial,
                        target_temperature=target,
                        hvac_mode="heat",
                        preset=preset,
                        power_limit_w=500.0,
                        origin="schedule",
                        timestamp=now,
                        seq=seqs[serial],
                    ),
                )
            state = states[serial]
            scheduler.apply_telemetry(
                Telemetry(
                    serial=serial,
                    room_temperature=round(state.temperature, 2),
                    target_temperature=target,
                    hvac_mode="heat",
                    power_w=power[serial],
                    power_limit_w=500.0,
                    energy_kwh=meters[serial],
                    compute_tflop=0.0,
                    control="cloud",
                    timestamp=now,
                ),
                now,
            )
        for decision in scheduler.run_period(now):
            control = decision.control
            power[decision.serial] = (
                float(control["power_target_w"])  # type: ignore[arg-type]
                if control is not None
                else 0.0
            )
        for room in rooms:
            serial = room.serial
            state = states[serial]
            state.step(period_s, power[serial], outside, room.people(now, seed))
            meters[serial] += power[serial] * period_s / 3_600_000
            error = state.temperature - targets[serial]
            result.degree_hours += max(abs(error) - BAND_K, 0.0) * hours
            result.degree_hours_above += max(error - BAND_K, 0.0) * hours
            inside += abs(error) <= BAND_K
            samples += 1
            if serial in cooling and error <= BAND_K:
                cooling.discard(serial)
            if serial not in cooling:
                result.max_overshoot_k = max(result.max_overshoot_k, error)
            result.max_undershoot_k = max(result.max_undershoot_k, -error)
            recovery = open_recovery.get(serial)
            if recovery is not None and error >= -BAND_K:
                recovery.reached_s = (now - recovery.at).total_seconds() + period_s
                del open_recovery[serial]
            if serial in plotted:
                result.traces.setdefault(serial, []).append(
                    (
                        (now - start).total_seconds() / 3600,
                        state.temperature,
                        targets[serial],
                        power[serial],
                    )
                )
    _summarise(result, scheduler, recoveries, times[-1], inside / max(samples, 1))
    return result


def _summarise(
    result: Result,
    scheduler: Scheduler,
    recoveries: list[Recovery],
    end: datetime,
    within: float,
) -> None:
    result.within_band_share = within
    reached = sorted(r.reached_s / 60 for r in recoveries if r.reached_s is not None)
    result.recoveries_unreached = sum(r.reached_s is None for r in recoveries)
    if reached:
        result.recovery_median_min = statistics.median(reached)
        result.recovery_p90_min = reached[int(0.9 * (len(reached) - 1))]
    accounts = scheduler.accounts
    result.high_done = accounts.done[JobClass.HIGH]
    result.low_done = accounts.done[JobClass.LOW]
    waiting = list(scheduler.queue.high) + [
        board.job
        for ledger in scheduler.ledgers.values()
        for board in ledger.compute.boards
        if board.job is not None and board.job.job_class is JobClass.HIGH
    ]
    overdue = sum(job.deadline is not None and job.deadline < end for job in waiting)
    result.high_missed = accounts.late + overdue
    assert scheduler.workload is not None
    result.high_arrived = sum(
        job.job_class is JobClass.HIGH
        and job.arrival_s <= (end - scheduler.workload.origin).total_seconds()  # type: ignore[operator]
        for job in scheduler.workload.trace.jobs
    )
    result.jobs_killed = accounts.kills[JobClass.HIGH] + accounts.kills[JobClass.LOW]
    result.paid_gflop = (
        accounts.gflop[JobClass.HIGH]
        + accounts.gflop[JobClass.LOW]
        - accounts.wasted_gflop
    )
    result.filler_gflop = accounts.gflop[JobClass.FILLER]
    result.energy_kwh = sum(ledger.energy_kwh for ledger in scheduler.ledgers.values())
    result.reimbursed_eur = result.energy_kwh * scheduler.tariff_eur_per_kwh
