"""The log check that ends each house finds what concerns qrad, and only that."""

from __future__ import annotations

from .ha_log import qrad_problems

LINES = [
    # 2026.10's format, coloured as on a terminal.
    (
        "\x1b[32m2026-12-02 06:00:00.001 INFO (MainThread) "
        "[homeassistant.setup] Setting up qrad\x1b[0m"
    ),
    (
        "2026-12-02 06:00:00.002 WARNING (SyncWorker_0) [homeassistant.loader] "
        "We found a custom integration qrad which has not been tested by Home "
        "Assistant. This component might cause stability problems"
    ),
    (
        "2026-12-02 06:00:00.003 WARNING (MainThread) "
        "[homeassistant.components.met] No home location"
    ),
    # 2026.11's format: the UTC offset after the time.
    (
        "\x1b[33m2026-12-02 06:00:00.004+00:00 WARNING (MainThread) "
        "[custom_components.qrad.climate] custom_components.qrad.climate::"
        "QradClimate provides the deprecated current_temperature\x1b[0m"
    ),
    (
        "2026-12-02 06:00:00.005+00:00 DEBUG (MainThread) "
        "[custom_components.qrad.coordinator] Pushed"
    ),
    (
        "2026-12-02 06:00:00.006+00:00 ERROR (MainThread) "
        "[homeassistant.config_entries] Error setting up entry Living room"
    ),
    "Traceback (most recent call last):",
    '  File "/repo/custom_components/qrad/__init__.py", line 60, in setup',
    "RuntimeError: boom",
    "2026-12-02 06:00:00.007+00:00 INFO (MainThread) [homeassistant.core] Stop",
]
LOG = "\n".join(LINES)


def test_qrad_warnings_and_tracebacks_through_our_code_are_found() -> None:
    """Our deprecation and a traceback through our code; not HA's own notices."""
    problems = qrad_problems(LOG)
    assert len(problems) == 2
    assert "provides the deprecated current_temperature" in problems[0]
    assert "\x1b" not in problems[0]
    assert problems[1].endswith("RuntimeError: boom")
    assert "[homeassistant.core] Stop" not in problems[1]


def test_a_quiet_log_has_no_problem() -> None:
    """Debug and info lines of qrad, and other integrations' warnings, are fine."""
    quiet = LOG.split("\x1b[33m", maxsplit=1)[0] + LOG.split("RuntimeError: boom\n")[1]
    assert "[homeassistant.core] Stop" in quiet
    assert qrad_problems(quiet) == []


def test_a_provoked_record_is_left_out_and_only_that_one() -> None:
    """What a test provoked on purpose is expected; every other problem stays."""
    problems = qrad_problems(LOG, ("Error setting up entry Living room",))
    assert len(problems) == 1
    assert "provides the deprecated current_temperature" in problems[0]
