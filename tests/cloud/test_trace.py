"""Job traces: seeded generation and the JSON-lines file, round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import io
from pathlib import Path

import pytest

from simulator.cloud.compute import JobClass
from simulator.cloud.trace import Trace, TraceError, Workload, generate


def test_same_seed_same_trace_and_loads_follow_the_arguments() -> None:
    """A trace is a function of its arguments; loads scale the work asked for."""
    first = generate(5, qrads=40, duration_s=6 * 3600)
    assert first == generate(5, qrads=40, duration_s=6 * 3600)
    assert first != generate(6, qrads=40, duration_s=6 * 3600)
    heavier = generate(5, qrads=40, duration_s=6 * 3600, high_load=0.4)

    def work(trace: Trace, job_class: JobClass) -> float:
        return sum(job.gflop for job in trace.jobs if job.job_class is job_class)

    assert work(heavier, JobClass.HIGH) > 1.5 * work(first, JobClass.HIGH)
    assert all(job.deadline_s for job in first.jobs if job.job_class is JobClass.HIGH)
    assert not any(
        job.deadline_s for job in first.jobs if job.job_class is JobClass.LOW
    )
    arrivals = [job.arrival_s for job in first.jobs]
    assert arrivals == sorted(arrivals)
    assert arrivals[-1] < 6 * 3600


def test_file_round_trip(tmp_path: Path) -> None:
    """Saved and loaded, a trace is the same trace."""
    trace = generate(2, qrads=10, duration_s=3 * 3600)
    path = tmp_path / "jobs.jsonl"
    trace.save(path)
    lines = path.read_text().splitlines()
    assert len(lines) == len(trace.jobs) + 1
    again = Trace.load(path)
    assert [job.id for job in again.jobs] == [job.id for job in trace.jobs]
    for saved, loaded in zip(trace.jobs, again.jobs, strict=True):
        assert loaded.job_class is saved.job_class
        assert loaded.arrival_s == pytest.approx(saved.arrival_s, abs=1e-3)
        assert loaded.gflop == pytest.approx(saved.gflop, abs=0.1)
    assert again.header["seed"] == 2


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "empty"),
        ('{"format": "other"}\n', "header"),
        ('{"format": "qrad-jobs", "version": 9}\n', "version"),
        (
            (
                '{"format": "qrad-jobs", "version": 1}\n'
                '{"id": "a", "class": "high", "arrival_s": 1, "gflop": 5}\n'
            ),
            "deadline",
        ),
        (
            (
                '{"format": "qrad-jobs", "version": 1}\n'
                '{"id": "a", "class": "filler", "arrival_s": 1, "gflop": 5}\n'
            ),
            "high or low",
        ),
        (
            (
                '{"format": "qrad-jobs", "version": 1}\n'
                '{"id": "a", "class": "low", "arrival_s": 5, "gflop": 5}\n'
                '{"id": "b", "class": "low", "arrival_s": 1, "gflop": 5}\n'
            ),
            "order",
        ),
        ('{"format": "qrad-jobs", "version": 1}\n{not json\n', "JSON"),
    ],
)
def test_bad_traces_are_refused(text: str, error: str) -> None:
    """Each broken rule is named."""
    with pytest.raises(TraceError, match=error):
        Trace.parse(io.StringIO(text))


def test_replay_hands_out_jobs_once_from_its_origin() -> None:
    """Arrivals are relative to where the replay starts, each job once."""
    trace = generate(1, qrads=20, duration_s=3600)
    origin = datetime(2026, 1, 1, 12, tzinfo=UTC)
    workload = Workload(trace=trace)
    first = list(workload.arrivals(origin + timedelta(seconds=0)))
    rest = list(workload.arrivals(origin + timedelta(hours=2)))
    assert workload.origin == origin
    assert len(first) + len(rest) == len(trace.jobs)
    assert all(job.arrival >= origin for job in rest)
    high = next(job for job in rest if job.job_class is JobClass.HIGH)
    assert high.deadline is not None
    assert high.deadline > high.arrival
