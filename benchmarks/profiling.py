"""Summaries of py-spy's raw (collapsed) stacks: where a process spends its time.

    python -m benchmarks.profiling FILE.pyspy.txt [--top 25]

Each line of py-spy's `--format raw` output is one stack, outermost frame
first, frames separated by `;`, and the number of samples that had it. The
summary gives the share of samples in which a function was on the stack
(inclusive) and at the top of it (self), by function and file, and by package.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
import re
import sys

FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>.*?)(?::\d+)?\)$")
PACKAGES = (
    ("custom_components/qrad/api/", "qrad client (api/)"),
    ("custom_components/qrad/", "qrad integration"),
    ("homeassistant/helpers/", "HA helpers"),
    ("homeassistant/components/", "HA components"),
    ("homeassistant/", "HA core"),
    ("aiohttp/", "aiohttp"),
    ("simulator/cloud/", "simulator cloud"),
    ("simulator/", "simulator"),
    ("paho/", "paho-mqtt"),
    ("aiomqtt/", "aiomqtt"),
    ("asyncio/", "asyncio"),
    ("json/", "json"),
    ("benchmarks/", "benchmark probe"),
)


def _short(path: str) -> str:
    for marker in ("site-packages/", "python3.14/", "/work/main/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _package(path: str) -> str:
    for marker, name in PACKAGES:
        if marker in path:
            return name
    return "other"


def summarize(path: Path, top: int = 25) -> str:
    """Markdown: top functions by self and inclusive share, and by package."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = []
        for raw in stack.split(";"):
            match = FRAME.match(raw.strip())
            name = (
                f"{match['function']} ({_short(match['file'])})"
                if match
                else raw.strip()
            )
            frames.append((name, match["file"] if match else ""))
        for name in {name for name, _ in frames}:
            inclusive[name] += count
        if frames:
            own[frames[-1][0]] += count
            packages[_package(frames[-1][1])] += count
    if not total:
        return f"No samples in {path}.\n"

    def table(counter: Counter[str], title: str) -> list[str]:
        rows = [f"| {title} | share of samples |", "| --- | ---: |"]
        rows += [
            f"| `{name}` | {100 * count / total:.1f} % |"
            for name, count in counter.most_common(top)
        ]
        return rows

    lines = [
        f"{total} samples from `{path.name}`.",
        "",
        "Self time by package (the function on top of the stack):",
        "",
        *table(packages, "package"),
        "",
        *table(own, "function, self"),
        "",
        *table(inclusive, "function, inclusive"),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Print the summary of one profile."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    sys.stdout.write(summarize(args.profile, args.top))


if __name__ == "__main__":
    main()
