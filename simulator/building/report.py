"""The comparison table and the plot of a building run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .run import Result
from .scenario import RoomSpec


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} min"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _starts(result: Result) -> str:
    feasible = sum(start.feasible for start in result.comfort_starts)
    return f"{len(result.comfort_starts)} ({feasible} feasible)"


ROWS: tuple[tuple[str, Callable[[Result], str]], ...] = (
    (
        "Comfort: degree-hours outside ±0.5 °C (K·h, all rooms)",
        lambda r: f"{r.degree_hours:.0f}",
    ),
    ("Comfort: of which above the band (K·h)", lambda r: f"{r.degree_hours_above:.0f}"),
    (
        "Comfort: of which below the band, the cold side (K·h)",
        lambda r: f"{r.degree_hours_below:.0f}",
    ),
    (
        "Comfort: outside ±0.5 °C of the setpoint in force alone (K·h)",
        lambda r: f"{r.degree_hours_strict:.0f}",
    ),
    (
        "Comfort: degree-hours outside ±1 °C (K·h)",
        lambda r: f"{r.degree_hours_wide:.0f}",
    ),
    (
        "Comfort: absolute deviation from the target (K·h)",
        lambda r: f"{r.absolute_deviation_kh:.0f}",
    ),
    ("Comfort: time within ±0.5 °C", lambda r: _share(r.within_band_share)),
    (
        "Comfort: largest overshoot (K, not after a lowered setpoint)",
        lambda r: f"{r.max_overshoot_k:+.2f}",
    ),
    ("Comfort: largest undershoot (K)", lambda r: f"{-r.max_undershoot_k:+.2f}"),
    ("Comfort periods started", _starts),
    (
        "Comfort: within 0.5 °C at a comfort period's start (feasible ones)",
        lambda r: _share(r.starts_within(feasible_only=True)),
    ),
    (
        "Comfort: within 0.5 °C at a comfort period's start (all)",
        lambda r: _share(r.starts_within(feasible_only=False)),
    ),
    (
        "Comfort: time to reach a raised setpoint, median",
        lambda r: _minutes(r.recovery_median_min),
    ),
    (
        "Comfort: time to reach a raised setpoint, 90th percentile",
        lambda r: _minutes(r.recovery_p90_min),
    ),
    (
        "Comfort: raised setpoints not reached before the next change",
        lambda r: str(r.recoveries_unreached),
    ),
    ("Compute: high-priority jobs arrived", lambda r: str(r.high_arrived)),
    ("Compute: high-priority jobs done", lambda r: str(r.high_done)),
    ("Compute: high-priority deadlines missed", lambda r: str(r.high_missed)),
    ("Compute: low-priority jobs done", lambda r: str(r.low_done)),
    ("Compute: paid jobs killed (restarted)", lambda r: str(r.jobs_killed)),
    ("Compute: paid GFLOP delivered (millions)", lambda r: f"{r.paid_gflop / 1e6:.1f}"),
    ("Compute: filler GFLOP (millions)", lambda r: f"{r.filler_gflop / 1e6:.1f}"),
    ("Energy: electricity (kWh)", lambda r: f"{r.energy_kwh:.0f}"),
    ("Energy: reimbursed (EUR)", lambda r: f"{r.reimbursed_eur:.2f}"),
)


def table(results: list[Result]) -> str:
    """A Markdown table, one column per variant."""
    first = results[0]
    lines = [
        f"{first.rooms} Q.rads, {first.hours:.0f} h simulated",
        "",
        "| | " + " | ".join(f"`{r.variant}`" for r in results) + " |",
        "| --- |" + " ---: |" * len(results),
    ]
    lines += [
        f"| {name} | " + " | ".join(value(r) for r in results) + " |"
        for name, value in ROWS
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    """One of issue 20's targets: `ours` against the `baseline`."""

    name: str
    met: bool
    figure: str


def targets(baseline: Result, ours: Result) -> list[Target]:
    """The targets of `ours` (predictive with plans) against `baseline` (threshold)."""
    starts = ours.starts_within(feasible_only=True)
    return [
        Target(
            "outside ±0.5 °C: at most a third",
            ours.degree_hours <= baseline.degree_hours / 3,
            _ratio(ours.degree_hours, baseline.degree_hours),
        ),
        Target(
            "outside ±1 °C: at most a half",
            ours.degree_hours_wide <= baseline.degree_hours_wide / 2,
            _ratio(ours.degree_hours_wide, baseline.degree_hours_wide),
        ),
        Target(
            "absolute deviation: lower",
            ours.absolute_deviation_kh < baseline.absolute_deviation_kh,
            _ratio(ours.absolute_deviation_kh, baseline.absolute_deviation_kh),
        ),
        Target(
            "within 0.5 °C at 90 % of feasible comfort starts",
            starts is not None and starts >= 0.9,
            _share(starts),
        ),
        Target(
            "no more high-priority deadlines missed",
            ours.high_missed <= baseline.high_missed,
            f"{ours.high_missed} against {baseline.high_missed}",
        ),
        Target(
            "paid GFLOP: at least 95 %",
            ours.paid_gflop >= 0.95 * baseline.paid_gflop,
            _ratio(ours.paid_gflop, baseline.paid_gflop),
        ),
        Target(
            "electricity: at most 10 % more",
            ours.energy_kwh <= 1.1 * baseline.energy_kwh,
            _ratio(ours.energy_kwh, baseline.energy_kwh),
        ),
    ]


def targets_table(baseline: Result, ours: Result) -> str:
    """The targets as Markdown: met or missed, and the figure."""
    lines = [
        f"`{ours.variant}` against `{baseline.variant}`, {ours.hours:.0f} h",
        "",
        "| Target | Figure | Met |",
        "| --- | ---: | :---: |",
    ]
    lines += [
        f"| {t.name} | {t.figure} | {'yes' if t.met else '**no**'} |"
        for t in targets(baseline, ours)
    ]
    return "\n".join(lines)


def beyond_the_cap(result: Result, rooms: list[RoomSpec]) -> str:
    """Which rooms 500 W cannot bring within 0.5 °C of a comfort start, and why."""
    starts = [start for start in result.comfort_starts if not start.feasible]
    if not starts:
        return "Every comfort start is within 500 W's reach."
    by_serial = {room.serial: room for room in rooms}
    beyond = [by_serial[serial] for serial in {start.serial for start in starts}]
    areas = sorted(room.area_m2 for room in beyond)
    losses = sorted(room.parameters.conductance_w_per_k for room in beyond)
    return (
        f"{len(starts)} of {len(result.comfort_starts)} comfort starts are beyond "
        f"500 W, in {len(beyond)} rooms of {areas[0]:.0f}-{areas[-1]:.0f} m² losing "
        f"{losses[0]:.0f}-{losses[-1]:.0f} W/K: 500 W, kept on from the planned "
        "target through the setback, cannot hold them within 0.5 °C of it in "
        "that weather."
    )


COMPACT_HEADER = (
    "| Weather | Seed | Days | Variant | outside ±0.5 (K·h) | cold side (K·h) "
    "| outside ±1 (K·h) | abs. deviation (K·h) | starts within 0.5 (feasible) "
    "| kWh | paid GFLOP (M) | killed | high missed |\n"
    "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
    "| ---: | ---: |"
)


def compact(results: list[Result], weather: str, seed: int) -> str:
    """One line per variant, for the comparison across weathers and seeds."""
    return "\n".join(
        f"| {weather} | {seed} | {r.hours / 24:.0f} | `{r.variant}` "
        f"| {r.degree_hours:.0f} | {r.degree_hours_below:.0f} "
        f"| {r.degree_hours_wide:.0f} | {r.absolute_deviation_kh:.0f} "
        f"| {_share(r.starts_within(feasible_only=True))} | {r.energy_kwh:.0f} "
        f"| {r.paid_gflop / 1e6:.0f} | {r.jobs_killed} | {r.high_missed} |"
        for r in results
    )


def _ratio(ours: float, baseline: float) -> str:
    return "-" if not baseline else f"{ours / baseline:.2f}"


def plot(results: list[Result], path: Path) -> None:
    """Room temperature, setpoint and power of the plotted rooms per variant."""
    import matplotlib as mpl  # noqa: PLC0415

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    serials = sorted(results[0].traces)
    figure, axes = plt.subplots(
        2, len(serials), figsize=(5 * len(serials), 7), sharex=True, squeeze=False
    )
    colours = ("tab:red", "tab:orange", "tab:blue", "tab:green")
    for column, serial in enumerate(serials):
        top, bottom = axes[0][column], axes[1][column]
        for result, colour in zip(results, colours, strict=False):
            points = result.traces[serial]
            hours = [p[0] for p in points]
            top.plot(hours, [p[1] for p in points], color=colour, label=result.variant)
            bottom.plot(
                hours,
                [p[3] for p in points],
                color=colour,
                linewidth=0.8,
                label=result.variant,
            )
        points = results[0].traces[serial]
        hours = [p[0] for p in points]
        setpoint = [p[2] for p in points]
        top.plot(hours, setpoint, color="black", linestyle="--", label="setpoint")
        top.fill_between(
            hours,
            [s - 0.5 for s in setpoint],
            [s + 0.5 for s in setpoint],
            color="grey",
            alpha=0.2,
            label="±0.5 °C",
        )
        top.set_title(serial)
        top.set_ylabel("room air (°C)")
        bottom.set_ylabel("power (W)")
        bottom.set_xlabel("hour")
        top.legend(fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
