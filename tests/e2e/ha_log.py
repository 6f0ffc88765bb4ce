"""What Home Assistant's log says about qrad, record by record.

A record is a line in Home Assistant's log format and the lines after it that
are not (a traceback). It concerns qrad when it comes from our loggers or names
us, as Home Assistant's deprecation reports and setup errors do.
"""

from __future__ import annotations

import re

_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
# 2026.11 writes the UTC offset after the time, 2026.10 does not.
_RECORD = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}(?:[+-]\d\d:\d\d)? "
    r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) \([^)]*\) \[(?P<logger>[^\]]+)\] "
)
_SERIOUS = {"WARNING", "ERROR", "CRITICAL"}
# Home Assistant's loader says this of every custom integration it loads.
_EVERY_CUSTOM_INTEGRATION = (
    "We found a custom integration qrad which has not been tested"
)


def records(log: str) -> list[tuple[str, str, str]]:
    """(level, logger, text) of each record, in order; colours removed."""
    found: list[tuple[str, str, str]] = []
    for line in _COLOUR.sub("", log).splitlines():
        if match := _RECORD.match(line):
            found.append((match["level"], match["logger"], line))
        elif found:
            level, logger, text = found[-1]
            found[-1] = (level, logger, f"{text}\n{line}")
    return found


def qrad_problems(log: str, expected: tuple[str, ...] = ()) -> list[str]:
    """Every warning or error from qrad's code, or about qrad, in the log.

    `expected` holds what a test provoked on purpose (a revoked token is an
    error for the owner to see): records containing one of them are left out.
    """
    return [
        text
        for level, logger, text in records(log)
        if level in _SERIOUS
        and (logger.startswith("custom_components.qrad") or "qrad" in text.lower())
        and _EVERY_CUSTOM_INTEGRATION not in text
        and not any(provoked in text for provoked in expected)
    ]
