"""The building's weathers and the forecast every policy plans with."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import statistics

import pytest

from simulator.building.__main__ import main
from simulator.building.run import _plan, _told
from simulator.building.scenario import START, building
from simulator.building.weather import (
    PROFILES,
    Forecast,
    HourlyWeather,
    WeatherFileError,
    weather_for,
)


def test_profiles_are_colder_and_milder() -> None:
    """The three named weathers differ as their names say, and follow the day."""
    mean = {
        name: statistics.mean(
            weather_for(name, 1)(START + timedelta(hours=h)) for h in range(24)
        )
        for name in PROFILES
    }
    assert mean["cold"] < mean["january"] < mean["shoulder"]
    january = weather_for("january", 1)
    assert january(START + timedelta(hours=3)) < january(START + timedelta(hours=15))


def test_the_forecast_errs_more_the_further_ahead() -> None:
    """Seeded: the same for every policy of a run, a few kelvin at a day and a half."""
    weather = weather_for("january", 1)
    forecast = Forecast(weather=weather, seed=1)
    again = Forecast(weather=weather, seed=1)
    issues = [START + timedelta(hours=6 * k) for k in range(200)]

    def spread(lead: timedelta) -> float:
        errors = [forecast(at, at + lead) - weather(at + lead) for at in issues]
        assert errors == [again(at, at + lead) - weather(at + lead) for at in issues]
        return statistics.pstdev(errors)

    now, day, later = (
        spread(timedelta(0)),
        spread(timedelta(hours=24)),
        spread(timedelta(hours=36)),
    )
    assert 0.2 < now < day < later < 4.0
    assert later > 1.0


def test_hourly_file_is_read_and_bad_ones_say_why(tmp_path: Path) -> None:
    """A file of hourly temperatures; a wrong line is named, nothing is guessed."""
    good = tmp_path / "week.csv"
    good.write_text("hour,outdoor_c\n0,1.0\n1,3.0\n2,-2.0\n", encoding="utf-8")
    weather = HourlyWeather.load(good)
    assert weather(START + timedelta(minutes=30)) == pytest.approx(2.0)
    assert weather(START + timedelta(hours=5)) == -2.0
    with pytest.raises(WeatherFileError, match="2 h of weather for a run of 24 h"):
        weather.check_covers(1.0)
    cases = {
        "temp\n0,1\n1,2\n": "first line",
        "hour,outdoor_c\n0,1\n2,2\n": "line 3: hour 2, expected 1",
        "hour,outdoor_c\n0,1\n1,warm\n": "line 3: expected an hour and a temperature",
        "hour,outdoor_c\n0,1\n1,80\n": "outside -40..45",
        "hour,outdoor_c\n0,1\n": "at least two hours",
    }
    for text, message in cases.items():
        bad = tmp_path / "bad.csv"
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(WeatherFileError, match=message):
            HourlyWeather.load(bad)
    with pytest.raises(WeatherFileError, match="cannot be read"):
        HourlyWeather.load(tmp_path / "missing.csv")


def test_the_command_refuses_a_short_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--weather-file` too short for `--days`: an error that says so, no run."""
    short = tmp_path / "short.csv"
    short.write_text("hour,outdoor_c\n0,1.0\n1,2.0\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="1 h of weather for a run of 24 h"):
        main(["--weather-file", str(short), "--qrads", "5", "--flats", "1"])
    assert capsys.readouterr().out == ""


def test_a_flat_plan_is_its_schedule_ahead() -> None:
    """A flat's plan: each change of its next 36 h, as the parser reads it."""
    room = next(r for r in building(1) if r.flat.schedule == "workers")
    plan = _plan(room.serial, 1, room.flat, START)
    assert [(c.at - START, c.preset) for c in plan.changes[:3]] == [
        (timedelta(hours=6.5), "comfort"),
        (timedelta(hours=8), "away"),
        (timedelta(hours=18), "comfort"),
    ]
    assert plan.changes[0].target_temperature == room.flat.comfort_c
    assert plan.valid_until - plan.issued_at == timedelta(hours=36)


def test_a_timer_raises_comfort_early_and_lowers_on_time() -> None:
    """The naive early start: comfort published 2 h ahead; a setback at its time."""
    flat = next(r for r in building(1) if r.flat.schedule == "workers").flat
    early = timedelta(hours=2)
    assert _told(flat, START + timedelta(hours=4, minutes=30), early)[0] == "comfort"
    assert _told(flat, START + timedelta(hours=4), early)[0] == "eco"
    assert _told(flat, START + timedelta(hours=8), early)[0] == "away"
    assert _told(flat, START + timedelta(hours=16), early)[0] == "comfort"


def test_the_report_names_the_rooms_500_w_cannot_warm_in_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """At -15 °C some rooms are beyond 500 W; the report says which and why."""
    frozen = tmp_path / "frozen.csv"
    frozen.write_text(
        "hour,outdoor_c\n" + "".join(f"{h},-15.0\n" for h in range(25)),
        encoding="utf-8",
    )
    main(["--weather-file", str(frozen), "--qrads", "12", "--flats", "2"])
    out = capsys.readouterr().out
    assert "comfort starts are beyond 500 W, in" in out
    assert "Every comfort start is within 500 W's reach." not in out
    capsys.readouterr()
    main(["--weather", "shoulder", "--qrads", "12", "--flats", "2"])
    assert "Every comfort start is within 500 W's reach." in capsys.readouterr().out
