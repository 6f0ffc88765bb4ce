"""Job traces: a seeded generator and a replayable file format (JSON lines).

A trace file is UTF-8 text, one JSON object per line. The first line is the
header, every other line one paid job:

    {"format": "qrad-jobs", "version": 1, "seed": 7, "qrads": 346,
     "duration_s": 86400, "high_load": 0.2, "low_load": 0.3}
    {"id": "H00000001", "class": "high", "arrival_s": 12.4, "gflop": 361000.0,
     "deadline_s": 5400.0}
    {"id": "L00000002", "class": "low", "arrival_s": 15.0, "gflop": 720000.0}

| Field | Type | Notes |
| --- | --- | --- |
| id | string | unique within the trace |
| class | `high` or `low` | filler needs no trace: it is always at hand |
| arrival_s | number ≥ 0 | seconds after the trace's origin (where a replay starts) |
| gflop | number > 0 | size; a motherboard at full speed does 720,000 an hour |
| deadline_s | number > 0 | `high` only: due this long after arrival (s) |

Lines are in order of arrival. Unknown header or job fields are ignored, so
the format can grow. `generate` draws the same trace from the same arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
import itertools
import json
import math
from pathlib import Path
import random
from typing import Any, TextIO

from .compute import MOTHERBOARDS, STEPS, TOP_STEP, Job, JobClass

FORMAT = "qrad-jobs"
VERSION = 1
FULL_GFLOPS = STEPS[TOP_STEP].gflops


class TraceError(ValueError):
    """A trace file that does not follow the format."""


@dataclass(frozen=True, kw_only=True)
class TraceJob:
    """One line of a trace."""

    id: str
    job_class: JobClass
    arrival_s: float
    gflop: float
    deadline_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The line's object."""
        data: dict[str, Any] = {
            "id": self.id,
            "class": str(self.job_class),
            "arrival_s": round(self.arrival_s, 3),
            "gflop": round(self.gflop, 1),
        }
        if self.deadline_s is not None:
            data["deadline_s"] = round(self.deadline_s, 1)
        return data

    @classmethod
    def from_json(cls, data: object, line: int) -> TraceJob:
        """Validate one line."""
        if not isinstance(data, dict):
            raise TraceError(f"line {line}: not an object")
        try:
            job_class = JobClass(data["class"])
            arrival = float(data["arrival_s"])
            gflop = float(data["gflop"])
            deadline = data.get("deadline_s")
            deadline_s = None if deadline is None else float(deadline)
            ident = data["id"]
        except (KeyError, ValueError, TypeError) as err:
            raise TraceError(f"line {line}: {err}") from err
        if job_class is JobClass.FILLER or not isinstance(ident, str) or not ident:
            raise TraceError(f"line {line}: a high or low job with an id is needed")
        if not (math.isfinite(arrival) and arrival >= 0 and gflop > 0):
            raise TraceError(f"line {line}: arrival_s >= 0 and gflop > 0 are needed")
        if job_class is JobClass.HIGH and (deadline_s is None or deadline_s <= 0):
            raise TraceError(f"line {line}: a high job needs a positive deadline_s")
        if job_class is JobClass.LOW:
            deadline_s = None
        return cls(
            id=ident,
            job_class=job_class,
            arrival_s=arrival,
            gflop=gflop,
            deadline_s=deadline_s,
        )

    def job(self, origin: datetime) -> Job:
        """The job this line describes, for a replay starting at `origin`."""
        arrival = origin + timedelta(seconds=self.arrival_s)
        return Job(
            id=self.id,
            job_class=self.job_class,
            arrival=arrival,
            gflop=self.gflop,
            deadline=None
            if self.deadline_s is None
            else arrival + timedelta(seconds=self.deadline_s),
        )


@dataclass(frozen=True, kw_only=True)
class Trace:
    """A header and jobs in order of arrival."""

    header: dict[str, Any]
    jobs: tuple[TraceJob, ...]

    def dump(self, out: TextIO) -> None:
        """Write as JSON lines."""
        out.write(json.dumps(self.header) + "\n")
        out.writelines(json.dumps(job.to_json()) + "\n" for job in self.jobs)

    def save(self, path: Path) -> None:
        """Write to `path`."""
        with path.open("w", encoding="utf-8") as out:
            self.dump(out)

    @classmethod
    def parse(cls, lines: Iterable[str]) -> Trace:
        """Read JSON lines (blank lines are skipped)."""
        numbered = [
            (number, line) for number, line in enumerate(lines, start=1) if line.strip()
        ]
        if not numbered:
            raise TraceError("empty trace")
        try:
            header = json.loads(numbered[0][1])
            rows = [(n, json.loads(line)) for n, line in numbered[1:]]
        except json.JSONDecodeError as err:
            raise TraceError(f"not JSON lines: {err}") from err
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise TraceError(f"line 1: not a {FORMAT} header")
        if header.get("version") != VERSION:
            raise TraceError(f"line 1: version {header.get('version')} is unknown")
        jobs = tuple(TraceJob.from_json(data, n) for n, data in rows)
        if any(b.arrival_s < a.arrival_s for a, b in itertools.pairwise(jobs)):
            raise TraceError("jobs are not in order of arrival")
        if len({job.id for job in jobs}) != len(jobs):
            raise TraceError("job ids are not unique")
        return cls(header=header, jobs=jobs)

    @classmethod
    def load(cls, path: Path) -> Trace:
        """Read a trace file."""
        with path.open(encoding="utf-8") as lines:
            return cls.parse(lines)


def offered_load(hour: float, base: float) -> float:
    """Share of the fleet's full speed asked for at `hour`: busier in working hours."""
    return base * (1.0 + 0.35 * math.sin(2 * math.pi * (hour - 9.0) / 24))


def generate(
    seed: int,
    *,
    qrads: int,
    duration_s: float = 86_400.0,
    high_load: float = 0.2,
    low_load: float = 0.3,
    start_hour: float = 0.0,
) -> Trace:
    """A seeded trace for `qrads` Q.rads.

    Arrivals are Poisson, with a rate that follows the working day (busiest in
    mid-afternoon). `high_load` and `low_load` are the mean shares of the
    fleet's full speed (`qrads` x 3 motherboards x 200 GFLOPS) each class asks
    for. Sizes are log-normal: high jobs take 25 min at full speed in the
    median (2 min to 3 h), low jobs 50 min (5 min to 8 h); a high job's
    deadline leaves it 2-4 times its full-speed duration plus 30-90 minutes.
    """
    rng = random.Random(f"trace-{seed}")
    capacity = qrads * MOTHERBOARDS * FULL_GFLOPS
    classes = (
        (JobClass.HIGH, high_load, 25 * 60.0, 0.8, (120.0, 3 * 3600.0)),
        (JobClass.LOW, low_load, 50 * 60.0, 0.9, (300.0, 8 * 3600.0)),
    )
    jobs: list[tuple[float, JobClass, float, float | None]] = []
    for job_class, load, median_s, sigma, (shortest, longest) in classes:
        mean_s = median_s * math.exp(sigma * sigma / 2)
        peak = capacity * load * 1.35 / (mean_s * FULL_GFLOPS)  # jobs per second
        moment = 0.0
        while peak > 0:
            moment += rng.expovariate(peak)
            if moment >= duration_s:
                break
            hour = (start_hour + moment / 3600.0) % 24
            if rng.random() * peak * FULL_GFLOPS * mean_s > capacity * offered_load(
                hour, load
            ):
                continue
            seconds = min(
                max(rng.lognormvariate(math.log(median_s), sigma), shortest), longest
            )
            deadline = None
            if job_class is JobClass.HIGH:
                deadline = seconds * rng.uniform(2.0, 4.0) + rng.uniform(1800, 5400)
            jobs.append((moment, job_class, seconds * FULL_GFLOPS, deadline))
    jobs.sort(key=lambda item: item[0])
    header = {
        "format": FORMAT,
        "version": VERSION,
        "seed": seed,
        "qrads": qrads,
        "duration_s": duration_s,
        "high_load": high_load,
        "low_load": low_load,
        "start_hour": start_hour,
    }
    return Trace(
        header=header,
        jobs=tuple(
            TraceJob(
                id=f"{'H' if job_class is JobClass.HIGH else 'L'}{index:08d}",
                job_class=job_class,
                arrival_s=moment,
                gflop=gflop,
                deadline_s=deadline,
            )
            for index, (moment, job_class, gflop, deadline) in enumerate(jobs, 1)
        ),
    )


@dataclass(kw_only=True)
class Workload:
    """Jobs arriving from a trace, anchored at the first period that asks."""

    trace: Trace
    origin: datetime | None = None
    _next: int = 0

    def arrivals(self, now: datetime) -> Iterator[Job]:
        """Jobs that arrived by `now` and were not handed out yet."""
        if self.origin is None:
            self.origin = now
        jobs = self.trace.jobs
        limit = (now - self.origin).total_seconds()
        while self._next < len(jobs) and jobs[self._next].arrival_s <= limit:
            yield jobs[self._next].job(self.origin)
            self._next += 1
