"""The control loop of docs/protocol.md 6.8, without any I/O.

The controller feeds it setpoints, telemetry and the clock; every control period
it returns, per Q.rad, the control message for the unit and the status for the
homeowner. Keeping it pure lets the tests drive it period by period, and the
building scenario (`simulator.building`) run a winter day in minutes.

Three policies decide the power and the compute (`policy`):

- `pi` (the default): the PI controller of 6.8 and paid jobs of 50 W each;
- `threshold` and `predictive`: three motherboards per Q.rad with frequency
  steps, and a queue of high, low and filler work (`compute.py`,
  `policies.py`), fed by a job trace (`trace.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
import math
import random

from simulator.device.physics import outdoor_temperature

from .compute import Accounts, JobClass, QradCompute, advance, kill
from .messages import MAX_POWER_W, Plan, Setpoint, Telemetry
from .policies import (
    FROST_GUARD_C,
    Context,
    Policy,
    Queue,
    RoomEstimate,
    UnitState,
    make_policy,
    unit_estimate,
)
from .trace import Trace, Workload, generate

JOB_POWER_W = 50.0
GFLOPS_PER_W = 1.2
DEFAULT_TARIFF_EUR_PER_KWH = 0.2516
CONTROL_PERIOD_S = 30.0
# The same PI as the unit's local thermostat: 250 W per kelvin of error and a
# 30-minute integral time, expressed as a share of full power.
GAIN_PER_K = 250.0 / MAX_POWER_W
INTEGRAL_TIME_S = 1800.0
STALE_AFTER_PERIODS = 3
POLICIES = ("pi", "threshold", "predictive")
# A generated workload (no trace given) covers this long, then starts over.
GENERATED_TRACE_S = 7 * 86_400.0


def perfect_forecast(_issued: datetime, at: datetime) -> float:
    """The emulated weather itself: the live demo's controller knows it."""
    return outdoor_temperature(at)


class Outcome(StrEnum):
    """What became of a setpoint (6.3)."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"
    NOT_OWNED = "not_owned"


@dataclass(kw_only=True)
class UnitLedger:
    """Everything the controller knows about one Q.rad."""

    serial: str
    account: str
    setpoint: Setpoint | None = None
    telemetry: Telemetry | None = None
    telemetry_received: datetime | None = None
    integral: float = 0.0
    meter_kwh: float | None = None
    energy_kwh: float = 0.0
    power_target_w: float = 0.0
    jobs_running: int = 0
    heat_source: str = "off"
    # The motherboard policies' state of this Q.rad.
    compute: QradCompute = field(default_factory=QradCompute)
    estimate: RoomEstimate | None = None
    estimated_at: datetime | None = None
    carry_w: float = 0.0
    # The homeowner's plan (6.11): the one in force, and the last refused since.
    plan: Plan | None = None
    plan_refused: dict[str, object] | None = None
    preheating_for: datetime | None = None

    def target(self) -> tuple[float, str, float] | None:
        """Target, mode and power cap: the homeowner's setpoint, else the unit's own."""
        telemetry = self.telemetry
        if self.setpoint is not None:
            cap = self.setpoint.power_limit_w
            if telemetry is not None:
                cap = min(cap, telemetry.power_limit_w)
            return (self.setpoint.target_temperature, self.setpoint.hvac_mode, cap)
        if telemetry is not None:
            return (
                telemetry.target_temperature,
                telemetry.hvac_mode,
                telemetry.power_limit_w,
            )
        return None


@dataclass(frozen=True, kw_only=True)
class Decision:
    """One Q.rad's outcome of a control period."""

    serial: str
    account: str
    control: dict[str, object] | None
    status: dict[str, object]


@dataclass(kw_only=True)
class JobQueue:
    """Paid jobs waiting for a Q.rad: a seeded demand that follows the day.

    `fill` is the share of the fleet's full-power job slots that paid work could
    use, between 40 % at night and 90 % in the afternoon, with some noise.
    """

    seed: int = 1
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        """Seed the noise."""
        self.rng = random.Random(f"jobs-{self.seed}")

    def available(self, now: datetime, slots: int) -> int:
        """Paid jobs available for `slots` job slots at `now`."""
        hour = now.hour + now.minute / 60
        fill = 0.65 - 0.25 * math.cos(2 * math.pi * (hour - 3) / 24)
        fill += self.rng.uniform(-0.05, 0.05)
        return max(0, round(slots * min(max(fill, 0.0), 1.0)))


@dataclass(kw_only=True)
class Scheduler:
    """Setpoints and telemetry in; control and status out, once per period."""

    owners: dict[str, str]
    tariff_eur_per_kwh: float = DEFAULT_TARIFF_EUR_PER_KWH
    # Open a unit's books at its meter's first reading (a fleet with a past).
    books_from_meter: bool = False
    period_s: float = CONTROL_PERIOD_S
    jobs: JobQueue = field(default_factory=JobQueue)
    policy: str = "pi"
    # The motherboard policies' work: a trace, else one generated from `job_seed`.
    trace: Trace | None = None
    job_seed: int = 1
    # The outdoor temperature the policies plan with: `forecast(now, at)` is
    # the temperature at `at` as forecast at `now`.
    forecast: Callable[[datetime, datetime], float] = perfect_forecast
    # Floor areas known to the operator, for the predictive policy's models.
    areas: dict[str, float] = field(default_factory=dict)
    ledgers: dict[str, UnitLedger] = field(init=False)
    queue: Queue = field(init=False, default_factory=Queue)
    accounts: Accounts = field(init=False, default_factory=Accounts)
    workload: Workload | None = field(init=False, default=None)
    _policy: Policy | None = field(init=False, default=None)
    _last_period: datetime | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        """One ledger per owned serial; the policy and its workload."""
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}")
        self.ledgers = {
            serial: UnitLedger(serial=serial, account=account)
            for serial, account in self.owners.items()
        }
        if self.policy != "pi":
            self._policy = make_policy(self.policy)
            trace = self.trace or generate(
                self.job_seed,
                qrads=max(len(self.owners), 1),
                duration_s=GENERATED_TRACE_S,
            )
            self.workload = Workload(trace=trace)

    def apply_setpoint(self, account: str, setpoint: Setpoint) -> Outcome:
        """Apply by seq: latest wins, duplicates and stale ones are ignored."""
        ledger = self.ledgers.get(setpoint.serial)
        if ledger is None or ledger.account != account:
            return Outcome.NOT_OWNED
        applied = ledger.setpoint.seq if ledger.setpoint else 0
        if (refused := _by_seq(setpoint.seq, applied)) is not None:
            return refused
        if setpoint.hvac_mode == "off":
            ledger.integral = 0.0
        ledger.setpoint = setpoint
        return Outcome.APPLIED

    def apply_plan(self, account: str, plan: Plan) -> Outcome:
        """Apply by seq, as setpoints: the plan in force until a newer one."""
        ledger = self.ledgers.get(plan.serial)
        if ledger is None or ledger.account != account:
            return Outcome.NOT_OWNED
        if (
            refused := _by_seq(plan.seq, ledger.plan.seq if ledger.plan else 0)
        ) is not None:
            return refused
        ledger.plan, ledger.plan_refused = plan, None
        return Outcome.APPLIED

    def refuse_plan(
        self, account: str, serial: str, seq: int | None, reason: str
    ) -> bool:
        """Note a refused plan for the status; False for a Q.rad not owned."""
        ledger = self.ledgers.get(serial)
        if ledger is None or ledger.account != account:
            return False
        ledger.plan_refused = {"seq": seq, "reason": reason}
        return True

    def apply_telemetry(self, telemetry: Telemetry, received: datetime) -> bool:
        """Use telemetry newer than the last; grow the energy account from its meter."""
        ledger = self.ledgers.get(telemetry.serial)
        if ledger is None:
            return False
        last = ledger.telemetry
        if last is not None and telemetry.timestamp <= last.timestamp:
            return False
        if ledger.meter_kwh is not None:
            ledger.energy_kwh += max(telemetry.energy_kwh - ledger.meter_kwh, 0.0)
        elif self.books_from_meter:
            ledger.energy_kwh = max(ledger.energy_kwh, telemetry.energy_kwh)
        ledger.meter_kwh = telemetry.energy_kwh
        ledger.telemetry = telemetry
        ledger.telemetry_received = received
        return True

    def restore(self, serial: str, energy_kwh: float) -> None:
        """Continue the energy account from a retained status after a restart."""
        ledger = self.ledgers.get(serial)
        if ledger is not None:
            ledger.energy_kwh = max(ledger.energy_kwh, energy_kwh)

    def adopt_loop_state(self, serial: str, state: dict[str, object]) -> None:
        """Continue a Q.rad's loop from the state its telemetry echoes (shared workers).

        Whichever worker handled the Q.rad last wrote it into the control
        message; the unit sends it back, so any worker can take the next step.
        """
        ledger = self.ledgers.get(serial)
        if ledger is None:
            return
        values = {
            key: float(value)
            for key, value in state.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
        echoed_meter = values.get("meter_kwh")
        if ledger.meter_kwh is not None and (
            echoed_meter is None or echoed_meter < ledger.meter_kwh
        ):
            return  # this worker's own state is the fresher one
        if "integral" in values:
            ledger.integral = min(max(values["integral"], 0.0), 1.0)
        if "energy_kwh" in values:
            ledger.energy_kwh = max(ledger.energy_kwh, values["energy_kwh"])
        if "meter_kwh" in values:
            ledger.meter_kwh = values["meter_kwh"]

    def loop_state(self, ledger: UnitLedger) -> dict[str, object]:
        """What the next step of this Q.rad's loop needs, for the control message."""
        return {
            "integral": round(ledger.integral, 6),
            "energy_kwh": round(ledger.energy_kwh, 6),
            "meter_kwh": ledger.meter_kwh,
        }

    def step_unit(self, serial: str, now: datetime) -> Decision | None:
        """One Q.rad's step of the `pi` loop, on its telemetry (shared workers)."""
        if self._policy is not None:
            raise ValueError("per-unit steps are for the pi policy")
        ledger = self.ledgers.get(serial)
        if ledger is None or not self._is_live(ledger, now):
            return None
        self._plan_power(ledger)
        self._hand_out_jobs([ledger], now)
        control = self._control(ledger, now)
        control["loop_state"] = self.loop_state(ledger)
        return Decision(
            serial=serial,
            account=ledger.account,
            control=control,
            status=self.status(ledger, now),
        )

    def run_period(self, now: datetime) -> list[Decision]:
        """Steps 1-6 of the control loop for every Q.rad."""
        live = [
            ledger for ledger in self.ledgers.values() if self._is_live(ledger, now)
        ]
        if self._policy is not None:
            self._run_compute(live, now)
        else:
            for ledger in live:
                self._plan_power(ledger)
            self._hand_out_jobs(live, now)
        live_serials = {ledger.serial for ledger in live}
        decisions = []
        for ledger in self.ledgers.values():
            is_live = ledger.serial in live_serials
            if not is_live:
                ledger.power_target_w = 0.0
                ledger.jobs_running = 0
                ledger.heat_source = "local_fallback"
            decisions.append(
                Decision(
                    serial=ledger.serial,
                    account=ledger.account,
                    control=self._control(ledger, now) if is_live else None,
                    status=self.status(ledger, now),
                )
            )
        return decisions

    def status(self, ledger: UnitLedger, now: datetime) -> dict[str, object]:
        """The status message of 6.4 (with the additive fields of the policies)."""
        power = ledger.power_target_w
        telemetry = ledger.telemetry
        status: dict[str, object] = {
            "serial": ledger.serial,
            "setpoint_seq": ledger.setpoint.seq if ledger.setpoint else 0,
            "power_target_w": power,
            "jobs_running": ledger.jobs_running,
            "gflops": round(self._gflops(ledger), 1),
            "heat_share": round(min(self._heat_share(ledger), 1.0), 3),
            "heat_source": ledger.heat_source,
            "energy_kwh": round(ledger.energy_kwh, 4),
            "reimbursed_eur": round(ledger.energy_kwh * self.tariff_eur_per_kwh, 4),
            "room_temperature": telemetry.room_temperature if telemetry else None,
            "updated_at": _iso(now),
            "policy": self.policy,
            "plan_seq": ledger.plan.seq if ledger.plan else 0,
            "plan_refused": ledger.plan_refused,
            "preheating_for": _iso(ledger.preheating_for)
            if ledger.preheating_for
            else None,
        }
        if self._policy is not None:
            compute = ledger.compute
            status["jobs"] = {str(c): compute.count(c) for c in JobClass}
            status["motherboards_on"] = sum(board.on for board in compute.boards)
        return status

    def _gflops(self, ledger: UnitLedger) -> float:
        if self._policy is not None:
            return ledger.compute.gflops
        return GFLOPS_PER_W * ledger.power_target_w

    def _heat_share(self, ledger: UnitLedger) -> float:
        power = ledger.power_target_w
        if not power:
            return 0.0
        if self._policy is not None:
            return ledger.compute.paid_power_w / power
        return JOB_POWER_W * ledger.jobs_running / power

    def _run_compute(self, live: list[UnitLedger], now: datetime) -> None:
        """Motherboard policies: run the last period's work, then plan the next."""
        assert self._policy is not None
        assert self.workload is not None
        elapsed = 0.0
        if self._last_period is not None:
            elapsed = (now - self._last_period).total_seconds()
            elapsed = min(max(elapsed, 0.0), STALE_AFTER_PERIODS * self.period_s)
        self._last_period = now
        live_serials = {ledger.serial for ledger in live}
        for ledger in self.ledgers.values():
            advance(ledger.compute, elapsed, now, self.accounts)
            if ledger.serial not in live_serials:
                # A silent unit's work is lost: it goes back to the queue.
                for board in ledger.compute.boards:
                    requeued = kill(board, self.accounts)
                    if requeued is not None:
                        self.queue.add(requeued)
        for job in self.workload.arrivals(now):
            self.queue.add(job)
        outdoor = self.forecast(now, now)
        units = [self._unit_state(ledger, outdoor, now) for ledger in live]
        self._forecast_ahead(units, now)
        self._policy.plan(
            units,
            Context(
                now=now, queue=self.queue, accounts=self.accounts, outdoor_c=outdoor
            ),
        )
        for ledger, unit in zip(live, units, strict=True):
            ledger.carry_w = unit.carry_w
            ledger.preheating_for = unit.next_at if unit.preheating else None
            compute = ledger.compute
            power = round(compute.power_w, 1)
            ledger.power_target_w = power
            ledger.jobs_running = compute.paid_jobs
            if power == 0:
                ledger.heat_source = "off"
            elif unit.limited:
                ledger.heat_source = "power_limited"
            else:
                paid = compute.paid_power_w / power
                ledger.heat_source = "compute" if paid >= 0.5 else "filler"

    def _unit_state(
        self, ledger: UnitLedger, outdoor: float, now: datetime
    ) -> UnitState:
        telemetry = ledger.telemetry
        target = ledger.target()
        assert telemetry is not None
        assert target is not None
        temperature, mode, cap = target
        heating = mode != "off"
        if self.policy == "predictive":
            if ledger.estimate is None:
                ledger.estimate = unit_estimate(self.areas.get(ledger.serial))
            if ledger.estimated_at != telemetry.timestamp:
                seconds = (
                    (telemetry.timestamp - ledger.estimated_at).total_seconds()
                    if ledger.estimated_at is not None
                    else 0.0
                )
                ledger.estimate.update(
                    telemetry.room_temperature, telemetry.power_w, outdoor, seconds
                )
                ledger.estimated_at = telemetry.timestamp
        unit = UnitState(
            serial=ledger.serial,
            target=temperature if heating else FROST_GUARD_C,
            air=telemetry.room_temperature,
            cap_w=cap,
            heating=heating,
            compute=ledger.compute,
            estimate=ledger.estimate,
            carry_w=ledger.carry_w,
        )
        upcoming = ledger.plan.upcoming(now) if ledger.plan and heating else ()
        if upcoming:
            change = upcoming[0]
            unit.next_target, unit.next_at = change.target_temperature, change.at
            unit.next_in_s = (change.at - now).total_seconds()
            unit.preheating = ledger.preheating_for == change.at
            if len(upcoming) > 1:
                unit.then_target = upcoming[1].target_temperature
                unit.then_in_s = (upcoming[1].at - now).total_seconds()
        return unit

    def _forecast_ahead(self, units: list[UnitState], now: datetime) -> None:
        """The mean forecast until each unit's next planned change (hourly samples)."""
        means: dict[datetime, float] = {}
        for unit in units:
            if unit.next_at is None:
                continue
            if (mean := means.get(unit.next_at)) is None:
                hours = max(math.ceil(unit.next_in_s / 3600), 1)
                step = unit.next_in_s / hours
                mean = means[unit.next_at] = sum(
                    self.forecast(now, now + timedelta(seconds=k * step))
                    for k in range(hours + 1)
                ) / (hours + 1)
            unit.outdoor_ahead_c = mean

    def _is_live(self, ledger: UnitLedger, now: datetime) -> bool:
        received = ledger.telemetry_received
        return (
            received is not None
            and (now - received).total_seconds() <= STALE_AFTER_PERIODS * self.period_s
        )

    def _plan_power(self, ledger: UnitLedger) -> None:
        """Steps 1 and 2: demand from the error, power target under the cap."""
        target = ledger.target()
        telemetry = ledger.telemetry
        if target is None or telemetry is None or target[1] == "off":
            ledger.integral = 0.0
            ledger.power_target_w = 0.0
            return
        temperature, _mode, cap = target
        error = temperature - telemetry.room_temperature
        ledger.integral += GAIN_PER_K * error * self.period_s / INTEGRAL_TIME_S
        ledger.integral = min(max(ledger.integral, 0.0), cap / MAX_POWER_W)
        demand = min(max(GAIN_PER_K * error + ledger.integral, 0.0), 1.0)
        wanted = round(demand * MAX_POWER_W)
        ledger.power_target_w = float(min(wanted, cap))
        ledger.heat_source = "power_limited" if wanted > cap else "compute"

    def _hand_out_jobs(self, live: list[UnitLedger], now: datetime) -> None:
        """Step 3: paid jobs in proportion to power targets, the rest filler."""
        slots = {
            ledger.serial: int(ledger.power_target_w // JOB_POWER_W) for ledger in live
        }
        total_power = sum(ledger.power_target_w for ledger in live)
        queue = self.jobs.available(now, len(live) * int(MAX_POWER_W // JOB_POWER_W))
        for ledger in live:
            share = queue * ledger.power_target_w / total_power if total_power else 0
            ledger.jobs_running = min(slots[ledger.serial], int(share))
            if ledger.power_target_w == 0:
                ledger.heat_source = "off"
            elif ledger.heat_source != "power_limited":
                paid = JOB_POWER_W * ledger.jobs_running / ledger.power_target_w
                ledger.heat_source = "compute" if paid >= 0.5 else "filler"

    def _control(self, ledger: UnitLedger, now: datetime) -> dict[str, object]:
        """Step 4: the control message for the unit."""
        control: dict[str, object] = {
            "power_target_w": ledger.power_target_w,
            "jobs_running": ledger.jobs_running,
            "gflops_target": round(self._gflops(ledger), 1),
            "valid_for_s": int(STALE_AFTER_PERIODS * self.period_s),
            "issued_at": _iso(now),
        }
        if self._policy is not None:
            control["motherboards"] = [
                {
                    "step": board.step if board.on else None,
                    "work": str(board.work) if board.work else None,
                }
                for board in ledger.compute.boards
            ]
        return control


def _by_seq(seq: int, applied: int) -> Outcome | None:
    """The seq rule of 6.3 and 6.11: None when `seq` is newer than the one applied."""
    if seq == applied:
        return Outcome.DUPLICATE
    if seq < applied:
        return Outcome.STALE
    return None


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
