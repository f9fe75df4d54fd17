"""benchmarks/queue_sim.py: the wait figures on a simulated queue, against what people really waited."""

from __future__ import annotations

import dataclasses

import pytest

from benchmarks.queue_sim import Person, Phase, Queue, Result, Scenario, run
from tests.conftest import last_json, run_python


@pytest.fixture(scope="module")
def day() -> Result:
    return run(Scenario(), progress=False)  # the README's day: seed 7, 4 hours open, 3 counters


def _phase(result: Result, starts: str) -> Phase:
    (found,) = [p for p in result.phases if p.name.startswith(starts)]
    return found


def _within(value: float | None, tolerance: float) -> bool:
    return value is not None and abs(value) <= tolerance


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (0.0, 0.0),  # nobody there: no wait
        (5.0, 95.0),  # the one counter is busy until 100
        (20.0, 130.0),  # behind the person who came at 10 (service 50): 100 + 50 - 20
        (120.0, 30.0),  # 10's service runs 100..150
        (400.0, 0.0),  # everyone served
    ],
    ids=["empty", "counter busy", "one ahead", "served now", "after"],
)
def test_what_someone_arriving_then_waits(t: float, expected: float) -> None:
    queue = Queue(
        people=[Person(0.0, 0.0), Person(10.0, 100.0), Person(300.0, 300.0)],
        services=[(0.0, 100.0), (100.0, 150.0), (300.0, 310.0)],
        counters=1,
        service_s=[100.0, 50.0, 10.0],
    )
    if t == 0.0:  # the first person arrives at 0: the empty case is a queue with nobody
        queue = Queue([], [], 1, [])
    assert queue.virtual_wait_s(t) == pytest.approx(expected)


def test_both_waited_lately_figures_hold_in_the_steady_part_of_the_day(day: Result) -> None:
    steady = _phase(day, "steady")
    assert steady.moments >= 120 and steady.lately_known == 1.0
    # the typical minute: within 10 % of the mean wait of the people called in the last hour
    assert _within(steady.mean_error, 0.10), steady
    assert _within(steady.little_error, 0.10), steady
    # over a window that holds every visit whole, both are the day's mean wait
    for estimate in (day.day.mean_s, day.day.little_s):
        assert estimate is not None and abs(estimate / day.day.true_mean_s - 1) <= 0.02, day.day


def test_expected_wait_holds_in_the_steady_part_of_the_day(day: Result) -> None:
    steady = _phase(day, "steady")
    assert steady.expected_known == 1.0
    assert _within(steady.expected_error, 0.25), steady  # the typical minute within 25 %
    assert _within(steady.expected_bias, 0.25), steady
    assert steady.short_said_short == 1.0  # a short wait is never announced as a long one


def test_where_the_figures_fail(day: Result) -> None:
    opened, closing = _phase(day, "queue just opened"), _phase(day, "last hour of the day")
    # Just opened: Little's law counts the waits of people still waiting only so far, and the
    # 15 minutes of exits still hold the closed time before opening: too long an expected wait.
    assert opened.little_error is not None and opened.little_error > 0.10, opened
    assert opened.expected_bias is not None and opened.expected_bias > 0.25, opened
    # Doors shut: nobody enters while the last ones wait on, so Little's law runs high; the
    # histogram's mean of the visits that ended stays right.
    assert closing.little_error is not None and closing.little_error > 0.10, closing
    assert _within(closing.mean_error, 0.10), closing


def test_broken_tracks_shorten_both_figures() -> None:
    """Little's law needs no whole track, but each break still adds an entry (README)."""
    broken = run(dataclasses.replace(Scenario(), breaks=0.3), progress=False)
    assert broken.day.mean_s is not None and broken.day.little_s is not None
    assert broken.day.mean_s < 0.9 * broken.day.true_mean_s
    assert broken.day.little_s < 0.9 * broken.day.true_mean_s


def test_missed_people_shorten_only_little_s_law() -> None:
    missed = run(dataclasses.replace(Scenario(), miss=0.2), progress=False)
    assert missed.day.mean_s is not None and missed.day.little_s is not None
    assert abs(missed.day.mean_s / missed.day.true_mean_s - 1) <= 0.02  # tracks bridge a missed frame
    assert missed.day.little_s < 0.9 * missed.day.true_mean_s  # the 3-frame median reads low


def test_the_command_prints_progress_the_table_and_json() -> None:
    done = run_python("-m", "benchmarks.queue_sim", "--open-hours", "2", "--seed", "3", "--json", timeout=120)
    assert "simulated up to" in done.stderr
    assert "waited lately" in done.stdout and "expected wait" in done.stdout
    figures = last_json(done)
    assert figures["scenario"]["seed"] == 3 and figures["scenario"]["arrivals_per_hour"] == [26.0, 32.0]
    names = [p["name"].split(":")[0] for p in figures["phases"]]
    assert names == ["queue just opened", "rest of the first hour", "steady", "last hour of the day"]
    assert figures["people"] > 20
