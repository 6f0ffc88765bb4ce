"""One way of running the building, in-process: the Scheduler drives the rooms.

No socket and no clock: each control period the rooms report (telemetry),
the scheduler decides (`Scheduler.run_period`), and each room is advanced one
period under the power it was given. Setpoints change with the flats'
schedules, published as the integration would (seq + 1 each time); with
`plans`, each flat's coming 36 hours are also published as a plan (6.11) at
every change and every 12 hours, as the integration's schedule follower does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
import json
import statistics

from simulator.cloud.compute import JobClass
from simulator.cloud.messages import Plan, Setpoint, Telemetry
from simulator.cloud.scheduler import CONTROL_PERIOD_S, Scheduler
from simulator.cloud.trace import Trace
from simulator.device.physics import Room

from .scenario import Flat, RoomSpec, moments
from .weather import Forecast, Weather

BAND_K = 0.5
WIDE_BAND_K = 1.0
PLAN_HORIZON = timedelta(hours=36)
PLAN_REFRESH = timedelta(hours=12)
MAX_POWER_W = 500.0
# The coarse step of the check whether 500 W could have made a comfort start.
FEASIBILITY_STEP_S = 600.0
# Ahead of a planned rise, this many times what 500 W needs is a fair time to heat.
HEATING_WINDOW_SHARE = 1.5


@dataclass(frozen=True, kw_only=True)
class Variant:
    """A policy and what it is told: the plans, or setpoints raised early."""

    name: str
    policy: str
    plans: bool = False
    early_start: timedelta = timedelta(0)


@dataclass(kw_only=True)
class Recovery:
    """A rise of the setpoint and when the room got there."""

    serial: str
    at: datetime
    reached_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class ComfortStart:
    """A room at the start of a comfort period: how far from its target."""

    serial: str
    at: datetime
    error_k: float
    # Whether 500 W, kept on through the setback, could hold the room there.
    feasible: bool


@dataclass(kw_only=True)
class Result:
    """What one variant did to the building over `hours`."""

    variant: str
    rooms: int
    hours: float
    degree_hours: float = 0.0
    degree_hours_above: float = 0.0
    degree_hours_wide: float = 0.0
    # Against the setpoint in force alone, heating ahead of a rise counted too.
    degree_hours_strict: float = 0.0
    absolute_deviation_kh: float = 0.0
    within_band_share: float = 0.0
    max_overshoot_k: float = 0.0
    max_undershoot_k: float = 0.0
    recovery_median_min: float | None = None
    recovery_p90_min: float | None = None
    recoveries_unreached: int = 0
    comfort_starts: tuple[ComfortStart, ...] = ()
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

    @property
    def degree_hours_below(self) -> float:
        """The cold side of the ±0.5 °C band."""
        return self.degree_hours - self.degree_hours_above

    def starts_within(self, *, feasible_only: bool) -> float | None:
        """Share of comfort starts within 0.5 °C of the target."""
        starts = [s for s in self.comfort_starts if s.feasible or not feasible_only]
        if not starts:
            return None
        return sum(abs(s.error_k) <= BAND_K for s in starts) / len(starts)


@dataclass(kw_only=True)
class _Tally:
    """The comfort figures as they accumulate period by period."""

    degree_hours: float = 0.0
    degree_hours_above: float = 0.0
    degree_hours_wide: float = 0.0
    degree_hours_strict: float = 0.0
    absolute_deviation_kh: float = 0.0
    max_overshoot_k: float = 0.0
    max_undershoot_k: float = 0.0
    inside: int = 0
    samples: int = 0
    recoveries: list[Recovery] = field(default_factory=list)
    starts: list[ComfortStart] = field(default_factory=list)

    def add(self, air: float, target: Ahead, hours: float, *, cooling: bool) -> None:
        """One room's air for one period, against the target and any rise ahead."""
        below = target.low_c - air
        above = air - target.high_c
        deviation = max(below, above, 0.0)
        strict = air - target.low_c
        self.degree_hours += max(deviation - BAND_K, 0.0) * hours
        self.degree_hours_above += max(above - BAND_K, 0.0) * hours
        self.degree_hours_wide += max(deviation - WIDE_BAND_K, 0.0) * hours
        self.degree_hours_strict += max(abs(strict) - BAND_K, 0.0) * hours
        self.absolute_deviation_kh += deviation * hours
        self.inside += deviation <= BAND_K
        self.samples += 1
        if not cooling:
            self.max_overshoot_k = max(self.max_overshoot_k, above)
        self.max_undershoot_k = max(self.max_undershoot_k, below)


@dataclass(frozen=True)
class Ahead:
    """The target band of a room now: its target, up to a planned rise's target.

    Ahead of a planned rise, for 1.5 times what 500 W needs to take the room
    there from its setback, warmer than the setback is what the plan asks for
    (it costs energy, which is counted), not discomfort; otherwise the band is
    around the target in force. Every variant is measured with the same band.
    """

    low_c: float
    high_c: float


def simulate(  # noqa: C901, PLR0912, PLR0913, PLR0915 (one loop reads best whole)
    variant: Variant,
    rooms: list[RoomSpec],
    trace: Trace,
    *,
    days: float,
    weather: Weather,
    seed: int,
    plotted: tuple[str, ...] = (),
    period_s: float = CONTROL_PERIOD_S,
    checkpoints: tuple[float, ...] = (),
) -> list[Result]:
    """Run `variant` over `rooms` for `days`: results at `checkpoints`, and at the end.

    The people are drawn from `seed`; the controller plans with a forecast of
    `weather` whose error is drawn from `seed` too.
    """
    scheduler = Scheduler(
        owners={room.serial: room.flat.account for room in rooms},
        policy=variant.policy,
        trace=trace,
        period_s=period_s,
        forecast=Forecast(weather=weather, seed=seed),
        areas={room.serial: room.area_m2 for room in rooms},
    )
    times = moments(days, period_s)
    start = times[0]
    marks = {start + timedelta(days=d) for d in checkpoints if 0 < d < days}
    # Midnight after an evening at comfort: every room settled at its comfort.
    states = {
        room.serial: Room(
            parameters=room.parameters,
            temperature=room.flat.comfort_c,
            fabric_temperature=room.parameters.steady_fabric(
                room.flat.comfort_c, weather(start)
            ),
        )
        for room in rooms
    }
    seqs = dict.fromkeys(states, 0)
    plan_seqs = dict.fromkeys(states, 0)
    plans_sent: dict[str, datetime] = {}
    published: dict[str, float] = {}
    targets: dict[str, float] = {}
    rises: dict[str, _Rise] = {}
    feasible: dict[str, bool] = {}
    power = dict.fromkeys(states, 0.0)
    meters = dict.fromkeys(states, 0.0)
    results: list[Result] = []
    tally = _Tally()
    open_recovery: dict[str, Recovery] = {}
    # Rooms cooling down after a lowered setpoint (or from the evening's
    # comfort at the start): not an overshoot yet.
    cooling = {
        room.serial
        for room in rooms
        if room.flat.target(start)[1] < room.flat.comfort_c
    }
    hours = period_s / 3600
    traces: dict[str, list[tuple[float, float, float, float]]] = {}
    for now in times:
        if now in marks:
            results.append(
                _summarise(variant, len(rooms), now - start, tally, scheduler, now)
            )
        outside = weather(now)
        for room in rooms:
            serial = room.serial
            preset, target = room.flat.target(now)
            if targets.get(serial) != target:
                if serial in targets and target > targets[serial]:
                    rise = Recovery(serial=serial, at=now)
                    tally.recoveries.append(rise)
                    open_recovery[serial] = rise
                    if preset == "comfort":
                        tally.starts.append(
                            ComfortStart(
                                serial=serial,
                                at=now,
                                error_k=states[serial].temperature - target,
                                feasible=feasible.get(serial, False),
                            )
                        )
                elif serial in open_recovery:
                    del open_recovery[serial]
                if serial in targets and target < targets[serial]:
                    cooling.add(serial)
                targets[serial] = target
                rises[serial] = _next_rise(room, target, now, weather)
                feasible[serial] = rises[serial].feasible
            told_preset, told = _told(room.flat, now, variant.early_start)
            if published.get(serial) != told:
                published[serial] = told
                seqs[serial] += 1
                scheduler.apply_setpoint(
                    room.flat.account,
                    Setpoint(
                        serial=serial,
                        target_temperature=told,
                        hvac_mode="heat",
                        preset=told_preset,
                        power_limit_w=MAX_POWER_W,
                        origin="schedule",
                        timestamp=now,
                        seq=seqs[serial],
                    ),
                )
                plans_sent.pop(serial, None)
            last_plan = plans_sent.get(serial, start - PLAN_REFRESH)
            if variant.plans and now - last_plan >= PLAN_REFRESH:
                plans_sent[serial] = now
                plan_seqs[serial] += 1
                scheduler.apply_plan(
                    room.flat.account,
                    _plan(serial, plan_seqs[serial], room.flat, now),
                )
            state = states[serial]
            scheduler.apply_telemetry(
                Telemetry(
                    serial=serial,
                    room_temperature=round(state.temperature, 2),
                    target_temperature=told,
                    hvac_mode="heat",
                    power_w=power[serial],
                    power_limit_w=MAX_POWER_W,
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
            if serial in cooling and error <= BAND_K:
                cooling.discard(serial)
            tally.add(
                state.temperature,
                rises[serial].band(targets[serial], now),
                hours,
                cooling=serial in cooling,
            )
            recovery = open_recovery.get(serial)
            if recovery is not None and error >= -BAND_K:
                recovery.reached_s = (now - recovery.at).total_seconds() + period_s
                del open_recovery[serial]
            if serial in plotted:
                traces.setdefault(serial, []).append(
                    (
                        (now - start).total_seconds() / 3600,
                        state.temperature,
                        targets[serial],
                        power[serial],
                    )
                )
    end = times[-1] + timedelta(seconds=period_s)
    final = _summarise(variant, len(rooms), end - start, tally, scheduler, times[-1])
    final.traces = traces
    return [*results, final]


def _told(flat: Flat, now: datetime, early: timedelta) -> tuple[str, float]:
    """The setpoint published: the schedule's, or a rise `early` ahead of its time."""
    preset, target = flat.target(now)
    if early:
        soon_preset, soon = flat.target(now + early)
        if soon > target:
            return soon_preset, soon
    return preset, target


def _plan(serial: str, seq: int, flat: Flat, now: datetime) -> Plan:
    """The flat's next 36 hours as the integration sends them, through the parser."""
    until = now + PLAN_HORIZON
    payload = {
        "serial": serial,
        "seq": seq,
        "source": "schedule",
        "issued_at": _iso(now),
        "valid_until": _iso(until),
        "changes": [
            {"at": _iso(at), "target_temperature": target, "preset": preset}
            for at, preset, target in flat.changes(now, until)
            if at < until
        ],
    }
    return Plan.parse(json.dumps(payload), serial, now)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class _Rise:
    """A room's next planned rise, when heating for it is fair, and if 500 W can."""

    at: datetime | None = None
    planned_c: float = 0.0
    heat_from: datetime | None = None
    feasible: bool = False

    def band(self, target_c: float, now: datetime) -> Ahead:
        """The band to hold at `now`: up to the planned target in the heating window."""
        if self.heat_from is None or self.at is None:
            return Ahead(target_c, target_c)
        if self.heat_from <= now < self.at:
            return Ahead(target_c, self.planned_c)
        return Ahead(target_c, target_c)


def _next_rise(
    room: RoomSpec, target_c: float, now: datetime, weather: Weather
) -> _Rise:
    """The next rise of the flat's schedule after `now`, with its heating window.

    What 500 W needs is computed with the room's real constants and weather,
    from the present target settled, nobody in it; the rise is feasible when
    a room settled at the planned target, kept at 500 W through the setback,
    is within 0.5 °C of it at the planned time: what the physics allows,
    whatever a controller knows.
    """
    rise = next(
        (
            (at, planned)
            for at, _preset, planned in room.flat.changes(now, now + PLAN_HORIZON)
            if planned > target_c
        ),
        None,
    )
    if rise is None:
        return _Rise()
    at, planned = rise
    model = Room(
        parameters=room.parameters,
        temperature=target_c,
        fabric_temperature=room.parameters.steady_fabric(target_c, weather(now)),
    )
    moment = now
    while moment < at and model.temperature < planned - BAND_K:
        step = min(FEASIBILITY_STEP_S, (at - moment).total_seconds())
        model.step(step, MAX_POWER_W, weather(moment), 0)
        moment += timedelta(seconds=step)
    needed = moment - now
    kept = Room(
        parameters=room.parameters,
        temperature=planned,
        fabric_temperature=room.parameters.steady_fabric(planned, weather(now)),
    )
    _heat(kept, now, at, weather)
    return _Rise(
        at=at,
        planned_c=planned,
        heat_from=max(at - HEATING_WINDOW_SHARE * needed, now),
        feasible=kept.temperature >= planned - BAND_K,
    )


def _heat(room: Room, since: datetime, until: datetime, weather: Weather) -> None:
    """`room` at 500 W from `since` to `until`, coarsely."""
    moment = since
    while moment < until:
        step = min(FEASIBILITY_STEP_S, (until - moment).total_seconds())
        room.step(step, MAX_POWER_W, weather(moment), 0)
        moment += timedelta(seconds=step)


def _summarise(
    variant: Variant,
    rooms: int,
    span: timedelta,
    tally: _Tally,
    scheduler: Scheduler,
    end: datetime,
) -> Result:
    """The figures so far (the compute's are read from the scheduler now)."""
    result = Result(
        variant=variant.name,
        rooms=rooms,
        hours=span.total_seconds() / 3600,
        degree_hours=tally.degree_hours,
        degree_hours_above=tally.degree_hours_above,
        degree_hours_wide=tally.degree_hours_wide,
        degree_hours_strict=tally.degree_hours_strict,
        absolute_deviation_kh=tally.absolute_deviation_kh,
        within_band_share=tally.inside / max(tally.samples, 1),
        max_overshoot_k=tally.max_overshoot_k,
        max_undershoot_k=tally.max_undershoot_k,
        comfort_starts=tuple(tally.starts),
    )
    reached = sorted(
        r.reached_s / 60 for r in tally.recoveries if r.reached_s is not None
    )
    result.recoveries_unreached = sum(r.reached_s is None for r in tally.recoveries)
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
    return result
