"""The comparison table and the plot of a building run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .run import Result


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} min"


ROWS: tuple[tuple[str, Callable[[Result], str]], ...] = (
    (
        "Comfort: degree-hours outside ±0.5 °C (K·h, all rooms)",
        lambda r: f"{r.degree_hours:.0f}",
    ),
    ("Comfort: of which above the band (K·h)", lambda r: f"{r.degree_hours_above:.0f}"),
    (
        "Comfort: degree-hours per room (K·h)",
        lambda r: f"{r.degree_hours / r.rooms:.2f}",
    ),
    ("Comfort: time within ±0.5 °C", lambda r: f"{100 * r.within_band_share:.1f} %"),
    (
        "Comfort: largest overshoot (K, not after a lowered setpoint)",
        lambda r: f"{r.max_overshoot_k:+.2f}",
    ),
    ("Comfort: largest undershoot (K)", lambda r: f"{-r.max_undershoot_k:+.2f}"),
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
    """A Markdown table, one column per policy."""
    first = results[0]
    lines = [
        f"{first.rooms} Q.rads, {first.hours:.0f} h simulated",
        "",
        "| | " + " | ".join(f"`{r.policy}`" for r in results) + " |",
        "| --- |" + " ---: |" * len(results),
    ]
    lines += [
        f"| {name} | " + " | ".join(value(r) for r in results) + " |"
        for name, value in ROWS
    ]
    return "\n".join(lines)


def plot(results: list[Result], path: Path) -> None:
    """Room temperature, setpoint and power of the plotted rooms per policy."""
    import matplotlib as mpl  # noqa: PLC0415

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    serials = sorted(results[0].traces)
    figure, axes = plt.subplots(
        2, len(serials), figsize=(5 * len(serials), 7), sharex=True, squeeze=False
    )
    colours = {"threshold": "tab:red", "predictive": "tab:blue"}
    for column, serial in enumerate(serials):
        top, bottom = axes[0][column], axes[1][column]
        for result in results:
            points = result.traces[serial]
            hours = [p[0] for p in points]
            colour = colours.get(result.policy, "tab:grey")
            top.plot(hours, [p[1] for p in points], color=colour, label=result.policy)
            bottom.plot(
                hours,
                [p[3] for p in points],
                color=colour,
                linewidth=0.8,
                label=result.policy,
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
