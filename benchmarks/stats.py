"""Small statistics and process readings shared by the benchmark's parts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math
import os
from pathlib import Path
import platform
import sys

import psutil  # type: ignore[import-untyped]


def percentile(values: Sequence[float], share: float) -> float | None:
    """The `share` (0-1) percentile by linear interpolation; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float], scale: float = 1.0) -> dict[str, float | int]:
    """Count, p50, p99, max and mean of `values` times `scale`."""
    if not values:
        return {"n": 0}
    scaled = [value * scale for value in values]
    return {
        "n": len(scaled),
        "p50": round(percentile(scaled, 0.5) or 0.0, 3),
        "p99": round(percentile(scaled, 0.99) or 0.0, 3),
        "max": round(max(scaled), 3),
        "mean": round(sum(scaled) / len(scaled), 3),
    }


@dataclass(frozen=True)
class CpuReading:
    """CPU seconds used so far by a process (and its children, if asked)."""

    user: float
    system: float

    @property
    def total(self) -> float:
        """User and system seconds."""
        return self.user + self.system


def cpu_reading(pid: int, *, children: bool = False) -> CpuReading:
    """CPU seconds of `pid` (plus its live children with `children`)."""
    process = psutil.Process(pid)
    times = process.cpu_times()
    user, system = times.user, times.system
    if children:
        for child in process.children(recursive=True):
            try:
                child_times = child.cpu_times()
            except psutil.NoSuchProcess:
                continue
            user += child_times.user
            system += child_times.system
    return CpuReading(user, system)


def memory_reading(pid: int) -> dict[str, float]:
    """Resident memory now and at its peak (MiB), and unique memory (MiB)."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = {
        line.split(":")[0]: line.split(":")[1].strip()
        for line in status.splitlines()
        if ":" in line
    }
    process = psutil.Process(pid)
    rss = process.memory_info().rss / 2**20
    peak = int(fields.get("VmHWM", "0 kB").split()[0]) / 1024
    try:
        uss = process.memory_full_info().uss / 2**20
    except psutil.AccessDenied:
        uss = math.nan
    return {
        "rss_mib": round(rss, 1),
        "peak_mib": round(peak, 1),
        "uss_mib": round(uss, 1),
    }


def machine() -> dict[str, str | int | float]:
    """What the figures were measured on."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    import aiohttp  # noqa: PLC0415
    from homeassistant.const import __version__ as ha_version  # noqa: PLC0415

    load = os.getloadavg()
    return {
        "cpu": model,
        "cores": os.cpu_count() or 0,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "home_assistant": ha_version,
        "aiohttp": aiohttp.__version__,
        "load_at_start": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    }
