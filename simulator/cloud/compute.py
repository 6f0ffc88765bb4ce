"""The compute inside a Q.rad: three motherboards, frequency steps, jobs in classes.

A Q.rad holds three motherboards. Each is off, or runs one piece of work at one
of four frequency steps; all its electrical power becomes heat:

| step | power | GFLOPS | GFLOPS/W |
| --- | --- | --- | --- |
| 0 | 55 W | 100 | 1.82 |
| 1 | 90 W | 140 | 1.56 |
| 2 | 125 W | 170 | 1.36 |
| 3 | 166.7 W | 200 | 1.20 |

so the three at full speed draw 500 W and deliver 600 GFLOPS (the 1.2 GFLOPS/W
of the PI policy of docs/protocol.md 6.8), and slower steps do more work per
watt, as a CPU does under DVFS.

Work comes in three classes, as on the operator's platform (the "greco" QBox
scheduler of the public Batsim simulator):

- `high`: paid and urgent, with a deadline;
- `low`: paid, without a deadline;
- `filler`: heat only (the platform's "CPU burn"): unbounded, always at hand,
  and never worth keeping a room warm for.

A job is a number of GFLOP; a killed job loses its progress and goes back to
the queue (instances restart from the beginning, as on the platform).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

MOTHERBOARDS = 3


class JobClass(StrEnum):
    """What a motherboard can run, by priority."""

    HIGH = "high"
    LOW = "low"
    FILLER = "filler"


@dataclass(frozen=True, kw_only=True)
class FrequencyStep:
    """One operating point of a motherboard."""

    power_w: float
    gflops: float


STEPS: tuple[FrequencyStep, ...] = (
    FrequencyStep(power_w=55.0, gflops=100.0),
    FrequencyStep(power_w=90.0, gflops=140.0),
    FrequencyStep(power_w=125.0, gflops=170.0),
    FrequencyStep(power_w=500.0 / 3, gflops=200.0),
)
TOP_STEP = len(STEPS) - 1
MIN_POWER_W = STEPS[0].power_w
MAX_MOTHERBOARD_W = STEPS[TOP_STEP].power_w


@dataclass(kw_only=True)
class Job:
    """A paid job: its size, its class and (for `high`) its deadline."""

    id: str
    job_class: JobClass
    arrival: datetime
    gflop: float
    deadline: datetime | None = None
    done_gflop: float = 0.0
    started: datetime | None = None
    finished: datetime | None = None
    kills: int = 0

    @property
    def remaining_gflop(self) -> float:
        """Work left."""
        return max(self.gflop - self.done_gflop, 0.0)

    def slack_s(self, now: datetime) -> float:
        """Seconds to spare if it ran from now at full speed (inf without deadline)."""
        if self.deadline is None:
            return float("inf")
        needed = self.remaining_gflop / STEPS[TOP_STEP].gflops
        return (self.deadline - now).total_seconds() - needed

    @property
    def late(self) -> bool:
        """Finished after its deadline."""
        return (
            self.deadline is not None
            and self.finished is not None
            and self.finished > self.deadline
        )


@dataclass(kw_only=True)
class Motherboard:
    """One computer of a Q.rad: off, or running `job` (or filler) at `step`."""

    step: int = TOP_STEP
    job: Job | None = None
    filler: bool = False
    # Set by a policy when it starts work this period (greco runs it at full speed).
    launched: bool = False

    @property
    def on(self) -> bool:
        """Whether it runs anything."""
        return self.job is not None or self.filler

    @property
    def work(self) -> JobClass | None:
        """The class of what it runs."""
        if self.job is not None:
            return self.job.job_class
        return JobClass.FILLER if self.filler else None

    @property
    def power_w(self) -> float:
        """Electrical power, all of it heat."""
        return STEPS[self.step].power_w if self.on else 0.0

    @property
    def gflops(self) -> float:
        """Compute delivered."""
        return STEPS[self.step].gflops if self.on else 0.0

    def stop(self) -> Job | None:
        """Switch off; return the paid job it ran, if any."""
        job, self.job, self.filler = self.job, None, False
        return job


@dataclass(kw_only=True)
class QradCompute:
    """The three motherboards of one Q.rad."""

    boards: list[Motherboard] = field(
        default_factory=lambda: [Motherboard() for _ in range(MOTHERBOARDS)]
    )

    @property
    def power_w(self) -> float:
        """All motherboards together."""
        return sum(board.power_w for board in self.boards)

    @property
    def gflops(self) -> float:
        """All motherboards together."""
        return sum(board.gflops for board in self.boards)

    @property
    def paid_power_w(self) -> float:
        """Power spent on paid jobs."""
        return sum(board.power_w for board in self.boards if board.job is not None)

    def count(self, job_class: JobClass) -> int:
        """Motherboards running that class."""
        return sum(board.work is job_class for board in self.boards)

    @property
    def paid_jobs(self) -> int:
        """Paid jobs running."""
        return sum(board.job is not None for board in self.boards)


@dataclass(kw_only=True)
class Accounts:
    """What the fleet's compute achieved: jobs done and missed, GFLOP delivered."""

    done: dict[JobClass, int] = field(
        default_factory=lambda: dict.fromkeys(JobClass, 0)
    )
    late: int = 0
    kills: dict[JobClass, int] = field(
        default_factory=lambda: dict.fromkeys(JobClass, 0)
    )
    gflop: dict[JobClass, float] = field(
        default_factory=lambda: dict.fromkeys(JobClass, 0.0)
    )
    wasted_gflop: float = 0.0


def advance(
    compute: QradCompute, seconds: float, now: datetime, accounts: Accounts
) -> list[Job]:
    """Run every motherboard for `seconds` ending at `now`; return finished jobs.

    A job finishing within the interval frees its motherboard, which stays at
    its step with nothing to do until the policy decides again.
    """
    finished = []
    for board in compute.boards:
        if not board.on:
            continue
        rate = STEPS[board.step].gflops
        work = board.work
        assert work is not None
        if board.job is None:
            accounts.gflop[work] += rate * seconds
            continue
        job = board.job
        capacity = rate * seconds
        used = min(capacity, job.remaining_gflop)
        job.done_gflop += used
        accounts.gflop[work] += used
        if job.remaining_gflop <= 1e-6:
            job.finished = now - timedelta(seconds=(capacity - used) / rate)
            accounts.done[work] += 1
            accounts.late += job.late
            board.job = None
            finished.append(job)
    return finished


def kill(board: Motherboard, accounts: Accounts) -> Job | None:
    """Stop a motherboard; a paid job loses its progress and is returned."""
    job = board.stop()
    if job is None:
        return None
    accounts.kills[job.job_class] += 1
    accounts.wasted_gflop += job.done_gflop
    job.done_gflop = 0.0
    job.kills += 1
    job.started = None
    return job
