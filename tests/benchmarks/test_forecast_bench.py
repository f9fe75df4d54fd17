"""benchmarks/forecast.py and the simulated branch weeks of benchmarks/queue_sim.py."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from benchmarks.forecast import main
from benchmarks.queue_sim import (
    BranchDay,
    BranchResult,
    BranchScenario,
    PlannedStep,
    _true_forecast,
    alert_chances,
    alert_times,
    filtered,
    occupancy_error,
    plan_score,
    planned_steps,
    score_warnings,
    simulate_branch,
    warning_episodes,
)
from tests.conftest import last_json, run_python

SCENARIO = BranchScenario()


def _day(waiting: list[int], warning_s: list[float | None] | None = None) -> BranchDay:
    day = BranchDay(date(2026, 3, 2), True, waiting=waiting)
    day.warning_s = warning_s if warning_s is not None else [None] * len(waiting)
    return day


def test_a_larger_branch_keeps_the_load_per_counter() -> None:
    larger = SCENARIO.scaled(2)

    assert larger.arrivals_per_hour == tuple(2 * a for a in SCENARIO.arrivals_per_hour)
    assert larger.surge_per_hour == (40.0, 80.0)
    assert (larger.counters, larger.max_counters) == (10, 16)
    assert (larger.raise_level, larger.clear_level) == (30, 16)
    assert larger.service_mean_s == SCENARIO.service_mean_s
    assert SCENARIO.scaled(1) == SCENARIO


def test_a_branch_scaled_to_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="factor"):
        SCENARIO.scaled(0)


@pytest.mark.parametrize(
    ("waiting", "expected"),
    [
        ([], []),
        ([0] * 30, []),
        ([15] + [0] * 10, []),  # one minute at the level: not for min_above_s
        ([0, 15, 16, 15, 8, 8, 8, 3], [(120.0, 300.0)]),  # fires a minute on; cleared a minute at 8
        ([15, 15, 8, 8, 8, 15, 15, 15], [(60.0, 180.0)]),  # the second run falls in the cooldown
        ([15, 15, 9, 9], [(60.0, 480 * 60.0)]),  # never cleared: closing ends it
    ],
    ids=["empty", "calm", "a blip", "fires and clears", "cooldown", "until closing"],
)
def test_alerts_follow_the_api_rule(waiting: list[int], expected: list[tuple[float, float]]) -> None:
    assert alert_times(_day(waiting), SCENARIO) == expected


def test_the_occupancy_forecast_is_scored_warn_ahead_minutes_on() -> None:
    """Each minute's path read at warn_ahead_s (20 minutes) against the queue then: one forecast
    2 high, one 4 low; a path too short or missing, or a minute without 20 after it, not scored."""
    waiting = list(range(30))
    day = _day(waiting)
    day.forecast = [None] * 30
    day.forecast[0] = [0.0] * 19 + [22.0]  # truth at minute 20: 20
    day.forecast[5] = [0.0] * 19 + [21.0]  # truth at minute 25: 25
    day.forecast[6] = [0.0] * 10  # too short
    day.forecast[12] = [0.0] * 20  # minute 32 is past the day
    found = occupancy_error([day], SCENARIO)
    assert (found.minutes, found.mae, found.bias, found.truth_mean) == (2, 3.0, -1.0, 22.5)
    assert occupancy_error([_day([0] * 5)], SCENARIO).minutes == 0


def test_warnings_are_held_and_silent_during_an_alert() -> None:
    warned: list[float | None] = [None, 600.0, None, None, 300.0] + [None] * 12 + [0.0] * 4 + [None] * 5
    waiting = [0] * 17 + [15, 15, 15, 15] + [0] * 5
    day = _day(waiting, warned)
    alerts = alert_times(day, SCENARIO)
    assert alerts == [(18 * 60.0, 22 * 60.0)]
    # minutes 1 and 4 are one warning (a gap under WARNING_HOLD_S); 17 stands alone; 18-20 are
    # inside the alert
    assert warning_episodes(day, alerts) == [(60.0, 300.0), (17 * 60.0, 18 * 60.0)]


@pytest.mark.parametrize(
    ("minutes", "within_s", "kept"),
    [
        (1, None, [None, 600.0, 900.0, None, 300.0]),  # as is
        (2, None, [None, None, 900.0, None, None]),  # from the second warned minute in a row
        (1, 600.0, [None, 600.0, None, None, 300.0]),  # only those reaching the level within 10 min
    ],
)
def test_warning_variants(minutes: int, within_s: float | None, kept: list[float | None]) -> None:
    day = _day([0] * 5, [None, 600.0, 900.0, None, 300.0])
    assert filtered(day, minutes, within_s).warning_s == kept
    assert filtered(_day([]), minutes, within_s).warning_s == []


@pytest.mark.parametrize(
    ("warned", "waiting", "expected"),
    [
        ([], [], (0, 0, 0, 0)),
        # warned from minute 2, the alert fires at 14 (13 and 14 at the level): warned 12 min ahead
        ([None] * 2 + [600.0] * 11 + [None] * 7, [0] * 13 + [15] * 3 + [0] * 4, (1, 1, 1, 1)),
        # warned from minute 8 only: 6 minutes ahead, not counted as warned, but followed
        ([None] * 8 + [300.0] * 5 + [None] * 7, [0] * 13 + [15] * 3 + [0] * 4, (1, 0, 1, 1)),
        # a warning and a touch of the level for one minute: no alert, a false warning
        ([None] * 2 + [600.0] * 3 + [None] * 15, [0] * 13 + [15] + [0] * 6, (0, 0, 1, 0)),
    ],
    ids=["empty", "warned ahead", "too late", "false"],
)
def test_warnings_are_scored_against_the_rule_s_alerts(
    warned: list[float | None], waiting: list[int], expected: tuple[int, int, int, int]
) -> None:
    score = score_warnings([_day(waiting, warned)], SCENARIO)
    assert (score.alerts, score.warned, score.warnings, score.followed) == expected


@pytest.mark.parametrize(
    ("waiting", "in_service", "low", "high"),
    [
        ([0] * 5, [()] * 5, 0.0, 0.05),  # an empty room, 30 an hour against five free counters
        ([14] * 5, [(300.0,) * 5] * 5, 0.2, 1.0),  # one short of the level, every counter busy
        ([15, 15], [(300.0,) * 5] * 2, None, None),  # the alert is on at minute 1: not asked
    ],
    ids=["empty room", "one short", "alert on"],
)
def test_the_best_case_chance(
    waiting: list[int], in_service: list[tuple[float, ...]], low: float | None, high: float | None
) -> None:
    day = _day(waiting)
    day.in_service = in_service
    chances = alert_chances(day, SCENARIO, 200, np.random.default_rng(1))
    assert len(chances) == len(waiting)
    if low is None:
        assert chances[-1] is None
    else:
        assert all(c is not None and low <= c <= high for c in chances)


def test_the_best_case_knows_a_surge_only_once_it_has_begun() -> None:
    """One short of the level, every counter busy, a surge of 120 an hour from minute 3: before
    it the chance is that of the day without one (no warning can know a surge to come), from its
    start on higher."""
    calm, surging = _day([14] * 5), _day([14] * 5)
    for day in (calm, surging):
        day.in_service = [(300.0,) * 5] * 5
    surging.surge = (180.0, 3600.0, 120 / 3600)
    plain = alert_chances(calm, SCENARIO, 400, np.random.default_rng(1))
    seen = alert_chances(surging, SCENARIO, 400, np.random.default_rng(1))
    assert seen[:3] == plain[:3]
    assert all(s is not None and p is not None and s > p for s, p in zip(seen[3:], plain[3:], strict=True))


def test_the_plan_is_scored_against_each_step_s_need() -> None:
    # (steps ahead, planned, needed, the need now held)
    plans = [PlannedStep(1, 5, 5, 4), PlannedStep(1, 6, 4, 4), PlannedStep(1, 4, 5, 5)]
    plans.append(PlannedStep(2, 5, 5, 5))
    score = plan_score(plans, 1)
    assert score is not None and score.steps == 3
    assert (score.exact, score.within_one, score.bias) == pytest.approx((1 / 3, 2 / 3, 1 / 3))
    assert (score.held_exact, score.held_within_one, score.held_bias) == pytest.approx((2 / 3, 1.0, -1 / 3))
    assert plan_score(plans, 3) is None


def test_a_plan_from_the_true_rates_needs_what_the_steps_need() -> None:
    """Planned on the true rates and service time, each step as it needs (the hour from 15:00
    brings 24 an hour where the one before brought 36); steps from closing on are left out; a
    surge that has not begun is not planned for."""
    day = BranchDay(date(2026, 3, 3), True, level=1.1)

    def plan(day: BranchDay, now: int) -> list[PlannedStep]:
        origin = (SCENARIO.opens_h * 3600 + now) // 900 + 96  # any day's index will do
        truth = _true_forecast(SCENARIO, day, origin, 5, now)
        return planned_steps(SCENARIO, day, now, truth, 1 / SCENARIO.service_mean_s, 1.0)

    half_past_two = plan(day, 6 * 3600 + 1800)  # steps from 14:45, 15:00, 15:15 and 15:30
    assert [s.ahead for s in half_past_two] == [1, 2, 3, 4]
    assert all(s.planned == s.needed for s in half_past_two)
    assert half_past_two[0].needed > half_past_two[1].needed > 0
    assert [s.ahead for s in plan(day, 7 * 3600)] == [1, 2, 3]  # from 15:00: 16:00 is closed
    surging = dataclasses.replace(day, surge=(7 * 3600 + 1800, 8 * 3600, 60 / 3600))
    later = plan(surging, 7 * 3600)
    assert later[0].planned == later[0].needed and later[2].needed > later[2].planned


@pytest.fixture(scope="module")
def branch() -> BranchResult:
    return simulate_branch(dataclasses.replace(SCENARIO, weeks=7, warmup_weeks=4))


def test_the_advice_keeps_waits_under_the_target(branch: BranchResult) -> None:
    figures = branch.figures()
    fixed, advice = figures["fixed"], figures["advice"]
    assert isinstance(fixed, dict) and isinstance(advice, dict)
    assert advice["days"] >= 13 and advice["surge_days"] >= 1
    assert advice["staffing"]["over_target"] <= 0.2  # the goal: 80 % wait less than 20 min
    assert advice["staffing"]["over_target"] < fixed["staffing"]["over_target"]
    assert advice["staffing"]["alerts"] < fixed["staffing"]["alerts"]
    # the 20-minute occupancy forecast within a few people of what came
    assert (
        fixed["occupancy"]["minutes"] > 1000
        and fixed["occupancy"]["mae"] < 3 * fixed["occupancy"]["truth_mean"]
    )


def test_the_plan_an_hour_ahead_beats_the_need_now_held(branch: BranchResult) -> None:
    figures = branch.figures()["counters_by_step"]
    assert isinstance(figures, dict)
    hour = figures[str(4)]
    assert hour["steps"] > 100 and hour["within_one"] >= hour["held_within_one"]
    assert figures["1"]["steps"] > hour["steps"]  # fewer steps an hour before closing


def test_warnings_come_before_most_alerts(branch: BranchResult) -> None:
    figures = branch.figures()
    warnings, best = figures["fixed"]["warnings"], figures["fixed, true rates"]["warnings"]  # type: ignore[index]
    assert warnings["alerts"] >= 1 and warnings["alerts"] == best["alerts"]  # the same days
    assert warnings["warned"] >= 1 and warnings["median_lead_s"] >= 600
    assert best["warned"] >= warnings["warned"]  # on these days, knowing the real rates warns no fewer


@pytest.mark.slow
def test_the_command_prints_both_tables_json_and_a_picture(tmp_path: Path) -> None:
    picture = tmp_path / "forecast.png"
    done = run_python(
        "-m",
        "benchmarks.forecast",
        "--sensors",
        "1",
        "--every",
        "24",
        "--weeks",
        "5",
        "--level",
        "0.1",
        "--hold",
        "120",
        "--plot",
        str(picture),
        "--json",
        timeout=600,
    )
    assert "sensors (rolling origin" in done.stderr  # progress
    assert "1 hour ahead" in done.stdout and "simulated branch" in done.stdout
    figures = last_json(done)
    hour = figures["real"]["hour_ahead"]
    assert figures["real"]["sensors"] == 1 and hour["hours"] > 500
    assert hour["forecast"] < hour["seasonal"]  # the profile beats the same hour last week
    scenario = figures["branch"]["scenario"]
    assert (scenario["weeks"], scenario["level"], scenario["min_above_s"]) == (5, 0.1, 120)
    assert "raise 15 for 120 s" in done.stdout
    assert picture.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [("--level", "0", "--level: between 0 and 1"), ("--level", "1", "--level"), ("--level", "nan", "--level"),
     ("--hold", "-1", "--hold: 0 or more"), ("--hold", "nan", "--hold")],
)  # fmt: skip
def test_the_command_names_a_bad_setting(
    option: str, value: str, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([option, value])
    assert named in capsys.readouterr().err
