"""The benchmark's results: derived figures, targets, Markdown tables and the plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MIB = 2**20
# Issue 22's targets by fleet size (the building, and 1000 Q.rads), each met
# only if every run of that size in the benchmark meets it.
BUILDING = 346
TARGETS: dict[int, dict[str, float]] = {
    BUILDING: {
        "available_restart_s": 5.0,
        "available_first_s": 10.0,
        "stall_ms": 50.0,
        "push_ratio_p99": 2.0,
        "memory_per_qrad_mb": 0.5,
    },
    1000: {"available_restart_s": 15.0, "available_first_s": 15.0, "stall_ms": 100.0},
}


def derive(results: dict[str, Any]) -> None:
    """Per-Q.rad figures against the baseline (Home Assistant without Q.rads)."""
    sizes = results["sizes"]
    baseline = next((r for r in sizes if r["size"] == 0), None)
    idle_floor = (
        (baseline or {}).get("push", {}).get("floor", {}).get("to_state_ms", {})
    )
    for run in sizes:
        n = run["size"]
        if n == 0 or baseline is None:
            continue
        push = run.get("push", {})
        for which in ("p50", "p99"):
            qrad = push.get("qrad", {}).get("to_state_ms", {}).get(which)
            floor = idle_floor.get(which)
            if qrad is not None and floor:
                push[f"ratio_idle_{which}"] = round(qrad / floor, 2)
        steady, base = run["steady"], baseline["steady"]
        extra_mib = steady["memory"]["rss_mib"] - base["memory"]["rss_mib"]
        peak_mib = run["setup"]["memory"]["peak_mib"]
        run["per_qrad"] = {
            "rss_mb": round(extra_mib * MIB / 1e6 / n, 3),
            "peak_mb": round(
                (peak_mib - baseline["setup"]["memory"]["peak_mib"]) * MIB / 1e6 / n, 3
            ),
            "first_start_peak_mb": round(
                (
                    run["first_start"]["memory"]["peak_mib"]
                    - baseline["first_start"]["memory"]["peak_mib"]
                )
                * MIB
                / 1e6
                / n,
                3,
            ),
            "cpu_percent": round(
                (steady["ha_cpu_percent"] - base["ha_cpu_percent"]) / n, 4
            ),
        }
    results["targets"] = _targets(sizes)


def _targets(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target with the figure of every run of its size."""
    targets = []
    for size, limits in TARGETS.items():
        runs = [run for run in sizes if run["size"] == size]
        if not runs:
            continue
        targets += _available_targets(runs, limits)
        if "push_ratio_p99" in limits:
            targets.append(
                _target(
                    size,
                    f"push latency p99 within {limits['push_ratio_p99']:g}x the floor"
                    " in the same Home Assistant",
                    [run.get("push", {}).get("ratio_p99") for run in runs],
                    limits["push_ratio_p99"],
                    "x",
                )
            )
        if "memory_per_qrad_mb" in limits:
            mb = limits["memory_per_qrad_mb"]
            targets += [
                _target(
                    size,
                    f"under {mb:g} MB of Home Assistant memory per Q.rad ({when})",
                    [run.get("per_qrad", {}).get(key) for run in runs],
                    mb,
                    "MB",
                )
                for when, key in (
                    ("steady", "rss_mb"),
                    ("peak of a first start", "first_start_peak_mb"),
                )
            ]
        targets += _stall_targets(runs, limits["stall_ms"])
    return targets


def _restart(run: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = run.get("restart", run["first_start"])
    return result


def _available_targets(
    runs: list[dict[str, Any]], limits: dict[str, float]
) -> list[dict[str, Any]]:
    """Every entity available soon enough after a restart and on a first start."""
    return [
        _target(
            runs[0]["size"],
            f"all entities available within {limits[key]:g} s of {when}",
            [get(run).get("all_available_s") for run in runs],
            limits[key],
            "s",
        )
        for when, key, get in (
            ("a restart", "available_restart_s", _restart),
            ("a first start", "available_first_s", lambda run: run["first_start"]),
        )
    ]


def _stall_targets(runs: list[dict[str, Any]], limit: float) -> list[dict[str, Any]]:
    """No stall over the limit at any time: first start, restart, steady state."""
    return [
        _target(
            runs[0]["size"],
            f"no event-loop stall over {limit:g} ms ({phase})",
            [get(run).get("lag_max_ms") for run in runs],
            limit,
            "ms",
        )
        for phase, get in (
            ("first start", lambda run: run["first_start"]),
            ("restart", _restart),
            ("steady state", lambda run: run["steady"]),
        )
    ]


def _target(
    size: int, name: str, values: list[float | None], limit: float, unit: str
) -> dict[str, Any]:
    return {
        "size": size,
        "target": name,
        "values": values,
        "limit": limit,
        "unit": unit,
        "met": all(value is not None and value <= limit for value in values),
    }


def _label(run: dict[str, Any]) -> str:
    """The row's name: its size, and which run of that size when repeated."""
    if run.get("repeat", 1) > 1:
        return f"{run['size']} (run {run['round']})"
    return str(run["size"])


def _header(*cells: str) -> list[str]:
    """A Markdown table's header and alignment rows (numbers right-aligned)."""
    return [
        "| " + " | ".join(cells) + " |",
        "| " + " | ".join("---:" for _ in cells) + " |",
    ]


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pair(stats: dict[str, Any] | None, digits: int = 1) -> str:
    if not stats or not stats.get("n"):
        return "-"
    return f"{_fmt(stats['p50'], digits)} / {_fmt(stats['p99'], digits)}"


def markdown(results: dict[str, Any]) -> str:
    """The tables of latest.md (and of the end of the run)."""
    sizes = [r for r in results["sizes"] if r["size"] > 0]
    baseline = next((r for r in results["sizes"] if r["size"] == 0), None)
    machine = results["machine"]
    lines = [
        f"# qrad benchmark, {results['date']}",
        "",
        (
            f"Machine: {machine['cpu']}, {machine['cores']} cores, "
            f"{machine['ram_gib']} GiB RAM, Linux {machine['kernel']}; Python "
            f"{machine['python']}, Home Assistant {machine['home_assistant']}, aiohttp "
            f"{machine['aiohttp']}; load average at start {machine['load_at_start']}. "
            f"Run took {results['duration_s']:.0f} s."
        ),
        "",
        "## Setup and memory",
        "",
        *_header(
            "Q.rads",
            "entities",
            "first start: all available (s)",
            "restart: HA started (s)",
            "restart: all available (s)",
            "longest stall in setup (ms)",
            "RSS steady (MiB)",
            "RSS peak: restart / first start (MiB)",
            "per Q.rad: steady / peak / first-start peak (MB)",
        ),
    ]
    if baseline is not None:
        setup = baseline["setup"]
        lines.append(
            f"| 0 (baseline) | 0 | - | {_fmt(setup['ha_started_s'])} | - "
            f"| {_fmt(setup['lag_max_ms'], 0)} "
            f"| {_fmt(baseline['steady']['memory']['rss_mib'], 0)} "
            f"| {_fmt(setup['memory']['peak_mib'], 0)} / "
            f"{_fmt(baseline['first_start']['memory']['peak_mib'], 0)} | - |"
        )
    for run in sizes:
        first, setup = run["first_start"], run["setup"]
        per = run.get("per_qrad", {})
        lines.append(
            f"| {_label(run)} | {_fmt(setup.get('entities'))} "
            f"| {_fmt(first.get('all_available_s'))} "
            f"| {_fmt(setup.get('ha_started_s'))} "
            f"| {_fmt(setup.get('all_available_s'))} "
            f"| {_fmt(setup.get('lag_max_ms'), 0)} "
            f"| {_fmt(run['steady']['memory']['rss_mib'], 0)} "
            f"| {_fmt(setup['memory']['peak_mib'], 0)} / "
            f"{_fmt(first['memory']['peak_mib'], 0)} "
            f"| {_fmt(per.get('rss_mb'), 2)} / {_fmt(per.get('peak_mb'), 2)} / "
            f"{_fmt(per.get('first_start_peak_mb'), 2)} |"
        )
    lines += [
        "",
        "## Steady state (speed 1: every Q.rad pushes its sensors each second)",
        "",
        *_header(
            "Q.rads",
            "HA CPU (% of a core)",
            "per Q.rad (%)",
            "longest stall (ms)",
            "stalls > 50 ms",
            "entity writes/s",
            "state changes/s",
            "world CPU (%)",
            "fleet tick p50 / p99 (ms)",
            "controller period work max (ms)",
        ),
    ]
    if baseline is not None:
        steady = baseline["steady"]
        lines.append(
            f"| 0 (baseline) | {_fmt(steady['ha_cpu_percent'])} | - "
            f"| {_fmt(steady['lag_max_ms'], 0)} | {steady['lag_over_50ms']} "
            f"| {_fmt(steady.get('entity_writes_per_s'), 0)} "
            f"| {_fmt(steady.get('state_changes_per_s'), 0)} | - | - | - |"
        )
    for run in sizes:
        steady = run["steady"]
        lines.append(
            f"| {_label(run)} | {_fmt(steady['ha_cpu_percent'])} "
            f"| {_fmt(run.get('per_qrad', {}).get('cpu_percent'), 3)} "
            f"| {_fmt(steady['lag_max_ms'], 0)} | {steady['lag_over_50ms']} "
            f"| {_fmt(steady.get('entity_writes_per_s'), 0)} "
            f"| {_fmt(steady.get('state_changes_per_s'), 0)} "
            f"| {_fmt(steady.get('world_cpu_percent'))} "
            f"| {_pair(steady.get('tick_ms'))} "
            f"| {_fmt(steady.get('control_period_ms', {}).get('max'), 0)} |"
        )
    lines += [
        "",
        "## Latency (p50 / p99, ms)",
        "",
        *_header(
            "Q.rads",
            "push: Q.rad to HA state",
            "floor in the same HA",
            "ratio to it p50 / p99",
            "ratio to the idle floor p50 / p99",
            "push to WS client p99 (Q.rad / floor)",
            "setpoint: service call to Q.rad",
            "to service call answer",
            "to cloud controller",
        ),
    ]
    if baseline is not None and baseline.get("push"):
        floor = baseline["push"]["floor"]
        lines.append(
            f"| 0 (idle floor) | - | {_pair(floor['to_state_ms'], 2)} | - | - "
            f"| - / {_fmt(floor['to_client_ms'].get('p99'), 2)} | - | - | - |"
        )
    for run in sizes:
        push, setpoint = run.get("push", {}), run.get("setpoint", {})
        lines.append(
            f"| {_label(run)} | {_pair(push.get('qrad', {}).get('to_state_ms'))} "
            f"| {_pair(push.get('floor', {}).get('to_state_ms'))} "
            f"| {_fmt(push.get('ratio_p50'), 2)} / {_fmt(push.get('ratio_p99'), 2)} "
            f"| {_fmt(push.get('ratio_idle_p50'), 2)} / "
            f"{_fmt(push.get('ratio_idle_p99'), 2)} "
            f"| {_fmt(push.get('qrad', {}).get('to_client_ms', {}).get('p99'))} / "
            f"{_fmt(push.get('floor', {}).get('to_client_ms', {}).get('p99'))} "
            f"| {_pair(setpoint.get('to_qrad_ms'))} "
            f"| {_pair(setpoint.get('to_ha_ack_ms'))} "
            f"| {_pair(setpoint.get('to_cloud_ms'))} |"
        )
    capacity = results.get("capacity", [])
    if capacity:
        lines += [
            "",
            "## Emulator and controller capacity (one process, no Home Assistant)",
            "",
            *_header(
                "Q.rads",
                "fleet tick p50 / p99 / max (ms)",
                "share of the 1 s tick (p99)",
                "controller work per 30 s period (ms)",
                "world CPU (%)",
                "mosquitto CPU (%)",
                "frames/s pushed",
            ),
        ]
        for run in capacity:
            tick = run["tick_ms"]
            lines.append(
                f"| {run['size']} | {_fmt(tick.get('p50'))} / "
                f"{_fmt(tick.get('p99'))} / {_fmt(tick.get('max'))} "
                f"| {_fmt(run['tick_budget_share_p99'], 2)} "
                f"| {_fmt(run['control_period_ms'].get('max'), 0)} "
                f"| {_fmt(run['world_cpu_percent'])} "
                f"| {_fmt(run['mosquitto_cpu_percent'])} "
                f"| {_fmt(run['frames_per_s'], 0)} |"
            )
    targets = results.get("targets", [])
    if targets:
        lines += [
            "",
            "## Targets (met when every run meets them)",
            "",
            "| Q.rads | target | measured, each run | met |",
            "| ---: | --- | ---: | :---: |",
        ]
        lines += [
            f"| {t['size']} | {t['target']} | "
            + " / ".join(_fmt(value, 2) for value in t["values"])
            + f" {t['unit']} | {'yes' if t['met'] else '**no**'} |"
            for t in targets
        ]
    lines += _stalls(results.get("sizes", []))
    lines.append("")
    return "\n".join(lines)


def _stalls(sizes: list[dict[str, Any]]) -> list[str]:
    """Where the loop was during the longest stalls of the largest fleet."""
    if not sizes:
        return []
    largest = max(sizes, key=lambda size: size["size"])
    phases = [
        (name, stalls)
        for name, stalls in (
            ("first start", largest.get("first_start", {}).get("stalls")),
            ("restart", largest.get("restart", {}).get("stalls")),
            ("steady state", largest.get("steady", {}).get("stalls")),
        )
        if stalls
    ]
    if not phases:
        return []
    lines = [
        "",
        f"## Longest event-loop stalls ({largest['size']} Q.rads)",
        "",
        "The loop thread's stack sampled every 5 ms during each stall (the probe's",
        "watcher thread): its most frequent stack, innermost frames last.",
    ]
    for name, stalls in phases:
        for stall in stalls[:3]:
            top = stall["stacks"][0]
            lines += [
                "",
                (
                    f"**{name}: {_fmt(stall['lag_ms'], 0)} ms** "
                    f"({top['samples']} of {stall['samples']} samples):"
                ),
                "",
                "```",
                *top["frames"][-8:],
                "```",
            ]
            for other in stall.get("other_threads", [])[:2]:
                lines += [
                    "",
                    f"meanwhile another thread ran ({other['samples']} samples):",
                    "",
                    "```",
                    *other["frames"],
                    "```",
                ]
    return lines


def plot(results: dict[str, Any], path: Path) -> None:
    """Latency, memory, setup time and CPU against fleet size (PNG)."""
    import matplotlib as mpl  # noqa: PLC0415

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    # The first run of each size (a repeated run is in the tables).
    runs = [r for r in results["sizes"] if r["size"] > 0 and r.get("round", 1) == 1]
    sizes = [r["size"] for r in runs]

    def series(get: Any) -> list[float]:
        values = []
        for run in runs:
            try:
                value = get(run)
            except KeyError, TypeError:
                value = None
            values.append(float("nan") if value is None else value)
        return values

    figure, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    latency, memory, setup, cpu = axes.flat
    for label, get, style in (
        ("push, Q.rad p50", lambda r: r["push"]["qrad"]["to_state_ms"]["p50"], "o-"),
        ("push, Q.rad p99", lambda r: r["push"]["qrad"]["to_state_ms"]["p99"], "o--"),
        ("push, floor p50", lambda r: r["push"]["floor"]["to_state_ms"]["p50"], "s-"),
        ("push, floor p99", lambda r: r["push"]["floor"]["to_state_ms"]["p99"], "s--"),
        ("setpoint to Q.rad p99", lambda r: r["setpoint"]["to_qrad_ms"]["p99"], "^--"),
        ("setpoint to cloud p99", lambda r: r["setpoint"]["to_cloud_ms"]["p99"], "v--"),
    ):
        latency.plot(sizes, series(get), style, label=label)
    baseline = next((r for r in results["sizes"] if r["size"] == 0), None)
    idle = (baseline or {}).get("push", {}).get("floor", {}).get("to_state_ms", {})
    if idle.get("p99"):
        latency.axhline(
            idle["p99"], color="grey", linestyle=":", label="floor p99, idle HA"
        )
    latency.set_title("Latency (ms)")
    latency.set_yscale("log")
    memory.plot(
        sizes,
        series(lambda r: r["steady"]["memory"]["rss_mib"]),
        "o-",
        label="RSS steady",
    )
    memory.plot(
        sizes,
        series(lambda r: r["setup"]["memory"]["peak_mib"]),
        "s--",
        label="RSS peak",
    )
    memory.set_title("Home Assistant memory (MiB)")
    per = memory.twinx()
    per.plot(
        sizes,
        series(lambda r: r["per_qrad"]["rss_mb"]),
        "d:",
        color="grey",
        label="per Q.rad (MB, right)",
    )
    per.axhline(TARGETS[BUILDING]["memory_per_qrad_mb"], color="red", linewidth=0.8)
    per.set_ylabel("MB per Q.rad")
    per.legend(loc="lower right", fontsize=8)
    setup.plot(
        sizes,
        series(lambda r: r["first_start"]["all_available_s"]),
        "o-",
        label="first start",
    )
    setup.plot(
        sizes, series(lambda r: r["setup"]["all_available_s"]), "s-", label="restart"
    )
    setup.axhline(
        TARGETS[BUILDING]["available_restart_s"],
        color="red",
        linewidth=0.8,
        label="target",
    )
    setup.set_title("Start to all qrad entities available (s)")
    cpu.plot(
        sizes, series(lambda r: r["steady"]["ha_cpu_percent"]), "o-", label="HA CPU %"
    )
    cpu.plot(
        sizes,
        series(lambda r: r["steady"]["lag_max_ms"]),
        "s--",
        label="longest loop stall (ms)",
    )
    cpu.axhline(TARGETS[BUILDING]["stall_ms"], color="red", linewidth=0.8)
    cpu.set_title("Steady state: HA CPU (% of a core), longest stall (ms)")
    for axis in axes.flat:
        axis.set_xscale("log")
        axis.set_xlabel("Q.rads in one Home Assistant")
        axis.grid(visible=True, which="both", alpha=0.3)
        axis.legend(loc="upper left", fontsize=8)
    machine = results["machine"]
    figure.suptitle(
        f"qrad at building scale ({results['date']}; {machine['cpu']}, "
        f"{machine['cores']} cores; HA {machine['home_assistant']})"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
