"""Command-line options of `python -m simulator` and `python -m simulator.cloud`."""

from __future__ import annotations

import argparse
from pathlib import Path

from .scheduler import POLICIES


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    """`--policy` and `--trace`, shared with `python -m simulator`."""
    parser.add_argument(
        "--policy",
        choices=POLICIES,
        default="pi",
        help="compute policy: pi (default, docs/protocol.md 6.8), threshold "
        "(the operator's thresholds) or predictive (docs/scheduling.md)",
    )
    parser.add_argument(
        "--books-from-meter",
        action="store_true",
        help="open a unit's books at its meter's first reading, not at zero "
        "(units started with a past: python -m simulator --history-days)",
    )
    parser.add_argument(
        "--trace",
        type=Path,
        help="job trace (JSON lines) for threshold/predictive; default: generated",
    )
