"""Heat-aware compute policies: which motherboard runs what, at which step.

Two policies share one job queue and the compute model of `compute.py`:

`threshold`, the operator's own regulation as the public Batsim simulator of
its platform describes it (pybatsim's "greco" QBox scheduler), checked every
control period on every Q.rad with `diff = target - air`:

- kills: `diff < -10` stops everything; `diff < -3` stops low jobs and filler;
  `diff < -1` stops filler. A killed job goes back to the queue and restarts.
- a free motherboard (off, or on filler) may take a low job while
  `diff >= -1`; a motherboard not running high work may take a high job while
  `diff >= -4` (preempting a low job only when no free one is left).
- high jobs go to the coolest Q.rad first (largest `diff`), low jobs to the
  warmest first (smallest `diff`); jobs are taken in order of arrival.
- frequency: a newly started job runs at full speed; a busy motherboard moves
  one step up while `diff >= 1` and one step down while `diff <= -1`; an idle
  motherboard burns filler at full speed while `diff >= 1` and is switched off
  otherwise.
- ours, not the platform's: the homeowner's power cap is honoured by lowering
  steps, then stopping filler, then low, then high jobs.

`predictive`, ours: a thermal model of each room (two nodes, `physics.py`'s,
with nominal constants for its floor area) and an observer that corrects its
fabric temperature and a disturbance (people, sun, model error) from the
measured air temperature. Every period it plans the power that brings the air
to the setpoint over the next 20 minutes, given the outdoor temperature, caps
it, and fills it: high jobs first (earliest deadline first, to the Q.rads
wanting the most heat), then low jobs, then filler, as many motherboards as the
heat allows at their most efficient steps. Compute moves away from rooms that
need no heat: no new work goes there, and their low jobs are stopped once the
room is 1 K too warm. A high job whose deadline cannot wait any longer runs
anyway, at the slowest step that meets it, in the room with the most headroom.
With the homeowner's plan (docs/protocol.md 6.11) it also looks ahead: before a
planned rise it keeps the setback as long as its cap, started later, would
still reach the planned target in time (with a margin), then heats at the cap,
so that work is placed where heat is planned; before a planned setback it lets
the room coast while it stays in its present band.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from simulator.device.physics import RoomParameters

from .compute import (
    MIN_POWER_W,
    STEPS,
    TOP_STEP,
    Accounts,
    Job,
    JobClass,
    Motherboard,
    QradCompute,
    kill,
)

FROST_GUARD_C = 5.0
MAX_POWER_W = 500.0
NOMINAL_AREA_M2 = 20.0
HORIZON_S = 1200.0
# Observer gains: how much of a surprise in the air temperature is put on the
# fabric estimate, and how fast the disturbance estimate (W per K of surprise).
FABRIC_GAIN = 0.5
DISTURBANCE_GAIN_W_PER_K = 600.0
DISTURBANCE_LIMIT_W = 400.0
CARRY_LIMIT_W = 60.0
KILL_LOW_ABOVE_K = 1.0
URGENT_MARGIN_S = 300.0
# Plans (docs/protocol.md 6.11): a room heated ahead aims to be at the planned
# target this long before the planned time. It heats as late as it can, at its
# cap, keeping a margin of time for what the model does not know (a fixed part
# and a share of the time left); a setback is coasted to when the room, unheated
# from now, stays within the band of its present target until then.
ARRIVE_EARLY_S = 600.0
PREHEAT_MARGIN_S = 600.0
PREHEAT_MARGIN_SHARE = 0.2
COAST_BAND_K = 0.5

# A low job this close to its end (at the slowest step) is let finish.
FINISH_WITHIN_S = 900.0


@dataclass(kw_only=True)
class Queue:
    """Paid jobs waiting for a motherboard."""

    high: list[Job] = field(default_factory=list)
    low: list[Job] = field(default_factory=list)

    def add(self, job: Job) -> None:
        """Queue a new or killed job."""
        (self.high if job.job_class is JobClass.HIGH else self.low).append(job)

    def __len__(self) -> int:
        """Jobs waiting."""
        return len(self.high) + len(self.low)


@dataclass(kw_only=True)
class RoomEstimate:
    """The controller's model of one room: constants, state and disturbance."""

    parameters: RoomParameters
    air: float | None = None
    fabric: float = 0.0
    disturbance_w: float = 0.0

    def update(
        self, measured: float, power_w: float, outdoor_c: float, seconds: float
    ) -> None:
        """Predict the last `seconds` under `power_w`, then correct from `measured`."""
        if self.air is None or seconds <= 0 or seconds > 3600:
            self.air = measured
            self.fabric = self.parameters.steady_fabric(measured, outdoor_c)
            return
        air, fabric = self._predict(self.air, self.fabric, power_w, outdoor_c, seconds)
        surprise = measured - air
        self.air = measured
        self.fabric = fabric + FABRIC_GAIN * surprise
        self.disturbance_w = min(
            max(
                self.disturbance_w + DISTURBANCE_GAIN_W_PER_K * surprise,
                -DISTURBANCE_LIMIT_W,
            ),
            DISTURBANCE_LIMIT_W,
        )

    def _predict(
        self,
        air: float,
        fabric: float,
        power_w: float,
        outdoor_c: float,
        seconds: float,
    ) -> tuple[float, float]:
        (m11, m12, m21, m22), (wa, wf, ka, kf) = self.parameters.transition(seconds)
        heat = power_w + self.disturbance_w
        steady_air, steady_fabric = (
            wa * heat + ka * outdoor_c,
            wf * heat + kf * outdoor_c,
        )
        da, df = air - steady_air, fabric - steady_fabric
        return (
            steady_air + m11 * da + m12 * df,
            steady_fabric + m21 * da + m22 * df,
        )

    def air_after(self, power_w: float, outdoor_c: float, seconds: float) -> float:
        """The air temperature `seconds` from now under a constant `power_w`."""
        assert self.air is not None
        return self._predict(self.air, self.fabric, power_w, outdoor_c, seconds)[0]

    def power_for(self, target: float, outdoor_c: float, horizon_s: float) -> float:
        """The constant power that brings the air to `target` in `horizon_s`."""
        assert self.air is not None
        cold = self._predict(self.air, self.fabric, 0.0, outdoor_c, horizon_s)[0]
        warm = self._predict(self.air, self.fabric, 1000.0, outdoor_c, horizon_s)[0]
        per_watt = (warm - cold) / 1000.0
        return (target - cold) / per_watt


@dataclass(kw_only=True)
class UnitState:
    """What a policy sees of one live Q.rad this period."""

    serial: str
    target: float
    air: float
    cap_w: float
    heating: bool
    compute: QradCompute
    estimate: RoomEstimate | None = None
    carry_w: float = 0.0
    # The next change of the homeowner's plan, if any (6.11), and the seconds to it.
    next_target: float | None = None
    next_at: datetime | None = None
    next_in_s: float = 0.0
    # The mean outdoor temperature forecast until then.
    outdoor_ahead_c: float | None = None
    # The change after it: a rise soon after a setback may forbid coasting.
    then_target: float | None = None
    then_in_s: float = 0.0
    # Set by the policy: it heats ahead for the next change (sticky once begun).
    preheating: bool = False
    wanted_w: float = 0.0
    limited: bool = False

    @property
    def aim(self) -> float:
        """The target the room is heated to: the planned one while heating ahead."""
        if self.preheating and self.next_target is not None:
            return max(self.target, self.next_target)
        return self.target

    @property
    def diff(self) -> float:
        """Target minus air: positive when the room wants heat."""
        return self.target - self.air


@dataclass(kw_only=True)
class Context:
    """Shared by the policy's steps in one period."""

    now: datetime
    queue: Queue
    accounts: Accounts
    outdoor_c: float


class Policy:
    """A way of running the fleet's compute for heat."""

    name = "base"

    def plan(self, units: list[UnitState], context: Context) -> None:
        """Decide every motherboard of `units` for the coming period."""
        raise NotImplementedError


def _requeue(board: Motherboard, context: Context) -> None:
    job = kill(board, context.accounts)
    if job is not None:
        context.queue.add(job)


def _start(board: Motherboard, job: Job, context: Context, step: int) -> None:
    _requeue(board, context)
    board.filler = False
    board.job = job
    board.step = step
    board.launched = True
    if job.started is None:
        job.started = context.now


def _enforce_cap(unit: UnitState, context: Context) -> None:
    """Lower steps, then stop filler, low and high work, until under the cap."""
    boards = unit.compute.boards
    order = (JobClass.FILLER, JobClass.LOW, JobClass.HIGH)
    while unit.compute.power_w > unit.cap_w + 1e-6:
        unit.limited = True
        lowered = False
        for job_class in order:
            candidates = [b for b in boards if b.work is job_class and b.step > 0]
            if candidates:
                max(candidates, key=lambda b: b.step).step -= 1
                lowered = True
                break
        if lowered:
            continue
        for job_class in order:
            running = [b for b in boards if b.work is job_class]
            if running:
                _requeue(running[0], context)
                running[0].filler = False
                break


class ThresholdPolicy(Policy):
    """The operator's thresholds (see the module docstring)."""

    name = "threshold"

    def plan(self, units: list[UnitState], context: Context) -> None:
        """Kills, dispatch, frequency regulation, caps."""
        for unit in units:
            for board in unit.compute.boards:
                board.launched = False
            self._kill(unit, context)
        self._dispatch_high(units, context)
        self._dispatch_low(units, context)
        for unit in units:
            self._regulate(unit)
            _enforce_cap(unit, context)

    @staticmethod
    def _kill(unit: UnitState, context: Context) -> None:
        diff = unit.diff
        for board in unit.compute.boards:
            work = board.work
            if work is None:
                continue
            if (
                diff < -10
                or (diff < -3 and work is not JobClass.HIGH)
                or (diff < -1 and work is JobClass.FILLER)
            ):
                _requeue(board, context)
                board.filler = False

    @staticmethod
    def _dispatch_high(units: list[UnitState], context: Context) -> None:
        queue = context.queue
        if not queue.high:
            return
        queue.high.sort(key=lambda job: job.arrival)
        coolest = sorted((u for u in units if u.diff >= -4), key=lambda u: -u.diff)
        free = [
            board
            for unit in coolest
            for board in unit.compute.boards
            if board.job is None
        ]
        running_low = [
            board
            for unit in coolest
            for board in unit.compute.boards
            if board.work is JobClass.LOW
        ]
        for board in free + running_low:
            if not queue.high:
                break
            _start(board, queue.high.pop(0), context, TOP_STEP)

    @staticmethod
    def _dispatch_low(units: list[UnitState], context: Context) -> None:
        queue = context.queue
        if not queue.low:
            return
        queue.low.sort(key=lambda job: job.arrival)
        warmest = sorted((u for u in units if u.diff >= -1), key=lambda u: u.diff)
        for unit in warmest:
            for board in unit.compute.boards:
                if not queue.low:
                    return
                if board.job is None:
                    _start(board, queue.low.pop(0), context, TOP_STEP)

    @staticmethod
    def _regulate(unit: UnitState) -> None:
        diff = unit.diff
        for board in unit.compute.boards:
            if board.job is None:
                # Filler burns at full speed until the kills stop it; an idle
                # motherboard starts it when heat is wanted, else is off.
                if not board.filler and diff >= 1:
                    board.filler = True
                    board.step = TOP_STEP
                continue
            if board.launched:
                continue
            if diff >= 1 and board.step < TOP_STEP:
                board.step += 1
            elif diff <= -1 and board.step > 0:
                board.step -= 1


@dataclass(kw_only=True)
class _Slots:
    unit: UnitState
    free: list[Motherboard]
    room_w: float


class PredictivePolicy(Policy):
    """Model-based power plan per room, filled high, low, then filler."""

    name = "predictive"

    def __init__(self, horizon_s: float = HORIZON_S) -> None:
        """Plan over `horizon_s`."""
        self.horizon_s = horizon_s

    def plan(self, units: list[UnitState], context: Context) -> None:
        """Budgets, then work into them."""
        for unit in units:
            for board in unit.compute.boards:
                board.launched = False
            unit.wanted_w = self._budget(unit, context.outdoor_c)
            self._shed(unit, context)
        slots = [self._slots(unit) for unit in units]
        self._place(
            sorted(context.queue.high, key=_deadline), slots, context, JobClass.HIGH
        )
        self._place(
            sorted(context.queue.low, key=lambda job: job.arrival),
            slots,
            context,
            JobClass.LOW,
        )
        self._force_urgent(units, context)
        for slot in slots:
            for board in slot.free:
                if board.job is None:
                    board.filler = True
        for unit in units:
            self._set_steps(unit, context.now)
            _enforce_cap(unit, context)

    def _budget(self, unit: UnitState, outdoor_c: float) -> float:
        if not unit.heating or unit.estimate is None or unit.cap_w <= 0:
            unit.carry_w = 0.0
            unit.preheating = False
            return 0.0
        wanted = unit.estimate.power_for(unit.target, outdoor_c, self.horizon_s)
        ahead = _ahead_of_plan(unit, outdoor_c)
        if ahead is not None:
            wanted = ahead
        unit.limited = wanted > unit.cap_w and unit.cap_w < MAX_POWER_W
        wanted = min(max(wanted, 0.0), unit.cap_w)
        if 0.0 < wanted < unit.cap_w:
            wanted += unit.carry_w
        else:
            unit.carry_w = 0.0
        return min(max(wanted, 0.0), unit.cap_w)

    @staticmethod
    def _shed(unit: UnitState, context: Context) -> None:
        """Stop filler everywhere; stop low jobs in rooms well above target."""
        for board in unit.compute.boards:
            if board.filler:
                board.filler = False
            elif (
                board.job is not None
                and board.job.job_class is JobClass.LOW
                and unit.wanted_w < unit.compute.paid_power_w
                and unit.air > unit.aim + KILL_LOW_ABOVE_K
                and board.job.remaining_gflop / STEPS[0].gflops > FINISH_WITHIN_S
            ):
                _requeue(board, context)

    @staticmethod
    def _slots(unit: UnitState) -> _Slots:
        """Motherboards the budget can run at their slowest step, beyond paid ones."""
        paid = unit.compute.paid_jobs
        room = unit.wanted_w - paid * MIN_POWER_W
        count = max(min(int(room // MIN_POWER_W), 3 - paid), 0)
        free = [board for board in unit.compute.boards if board.job is None][:count]
        return _Slots(unit=unit, free=free, room_w=room)

    @staticmethod
    def _place(
        jobs: list[Job], slots: list[_Slots], context: Context, job_class: JobClass
    ) -> None:
        """Each job to the Q.rad wanting the most heat per free motherboard."""
        queue = context.queue.high if job_class is JobClass.HIGH else context.queue.low
        open_slots = [slot for slot in slots if slot.free]
        placed = set()
        for job in jobs:
            if not open_slots:
                break
            slot = max(open_slots, key=lambda s: s.room_w / len(s.free))
            _start(slot.free.pop(0), job, context, 0)
            slot.room_w -= MIN_POWER_W
            placed.add(id(job))
            if not slot.free:
                open_slots.remove(slot)
        queue[:] = [job for job in queue if id(job) not in placed]

    @staticmethod
    def _force_urgent(units: list[UnitState], context: Context) -> None:
        """Start high jobs that would otherwise miss their deadline."""
        queue = context.queue
        if not queue.high:
            return
        urgent = []
        for job in sorted(queue.high, key=_deadline):
            step = _step_for(job, context.now)
            if step is not None:
                urgent.append((job, step))
        for job, step in urgent:
            best = None
            for unit in units:
                if unit.cap_w < unit.compute.power_w + STEPS[step].power_w:
                    continue
                board = next(
                    (b for b in unit.compute.boards if b.work is not JobClass.HIGH),
                    None,
                )
                if board is None:
                    continue
                headroom = unit.target + 0.5 - unit.air - 0.002 * unit.compute.power_w
                if best is None or headroom > best[0]:
                    best = (headroom, board)
            if best is None:
                continue
            _start(best[1], job, context, step)
            queue.high.remove(job)

    @staticmethod
    def _set_steps(unit: UnitState, now: datetime) -> None:
        """Raise steps towards the budget: urgent high work first, filler last."""
        boards = [board for board in unit.compute.boards if board.on]
        for board in boards:
            job = board.job
            floor = 0
            if job is not None and job.job_class is JobClass.HIGH:
                floor = _needed_step(job, now)
            board.step = max(board.step, floor) if board.launched else floor

        def rank(board: Motherboard) -> tuple[int, float]:
            job = board.job
            if job is None:
                return (2, 0.0)
            return (0 if job.job_class is JobClass.HIGH else 1, job.slack_s(now))

        boards.sort(key=rank)
        wanted = unit.wanted_w
        power = sum(board.power_w for board in boards)
        raised = True
        while raised:
            raised = False
            for board in boards:
                if board.step >= TOP_STEP:
                    continue
                extra = STEPS[board.step + 1].power_w - STEPS[board.step].power_w
                if power + extra / 2 <= wanted:
                    board.step += 1
                    power += extra
                    raised = True
                    break
        if 0.0 < wanted < unit.cap_w:
            unit.carry_w = min(max(wanted - power, -CARRY_LIMIT_W), CARRY_LIMIT_W)


def _ahead_of_plan(unit: UnitState, outdoor_c: float) -> float | None:
    """The power that anticipates the plan's next change, or None to follow today's.

    Ahead of a rise: nothing special while the cap, started later, would still
    get the room there in time with the margin; from then on the cap, until
    the room is there, then what holds it. Ahead of a setback: nothing, while
    the room left unheated stays in its present band until the change.
    """
    estimate, planned = unit.estimate, unit.next_target
    if estimate is None or estimate.air is None or planned is None:
        unit.preheating = False
        return None
    ahead_c = outdoor_c if unit.outdoor_ahead_c is None else unit.outdoor_ahead_c
    if planned > unit.target:
        lead_s = unit.next_in_s - ARRIVE_EARLY_S
        margin_s = PREHEAT_MARGIN_S + PREHEAT_MARGIN_SHARE * max(lead_s, 0.0)
        unit.preheating = unit.preheating or (
            lead_s <= margin_s
            or estimate.air_after(unit.cap_w, ahead_c, lead_s - margin_s) <= planned
        )
        if not unit.preheating:
            return None
        if estimate.air < planned:
            return unit.cap_w
        held = estimate.power_for(planned, outdoor_c, HORIZON_S)
        return min(max(held, 0.0), unit.cap_w)
    unit.preheating = False
    if unit.then_target is not None and unit.then_target > planned:
        # A rise follows the setback: coasting is only worth it if the cap,
        # from the setback's start, still gets the room up to it in time.
        gap_s = unit.then_in_s - unit.next_in_s - ARRIVE_EARLY_S
        margin_s = PREHEAT_MARGIN_S + PREHEAT_MARGIN_SHARE * max(gap_s, 0.0)
        reached = estimate.air_after(unit.cap_w, ahead_c, gap_s - margin_s)
        if reached <= unit.then_target:
            return None
    coasted = estimate.air_after(0.0, ahead_c, unit.next_in_s)
    return 0.0 if coasted >= unit.target - COAST_BAND_K else None


def _deadline(job: Job) -> datetime:
    assert job.deadline is not None
    return job.deadline


def _needed_step(job: Job, now: datetime) -> int:
    """The slowest step that meets the job's deadline with a margin."""
    assert job.deadline is not None
    left = (job.deadline - now).total_seconds() - URGENT_MARGIN_S
    for index, step in enumerate(STEPS):
        if job.remaining_gflop / step.gflops * 1.2 <= left:
            return index
    return TOP_STEP


def _step_for(job: Job, now: datetime) -> int | None:
    """The step to start a waiting job at if it cannot wait any longer, else None.

    It cannot wait when its time left is under 1.3 times what it needs at the
    slowest step, plus a margin.
    """
    assert job.deadline is not None
    left = (job.deadline - now).total_seconds()
    if left > job.remaining_gflop / STEPS[0].gflops * 1.3 + 2 * URGENT_MARGIN_S:
        return None
    return _needed_step(job, now)


def make_policy(name: str) -> Policy:
    """The policy called `name`."""
    if name == "threshold":
        return ThresholdPolicy()
    if name == "predictive":
        return PredictivePolicy()
    raise ValueError(f"unknown policy {name!r}")


def unit_estimate(area_m2: float | None) -> RoomEstimate:
    """A fresh model of a room (nominal constants for its floor area)."""
    return RoomEstimate(parameters=RoomParameters.nominal(area_m2 or NOMINAL_AREA_M2))
