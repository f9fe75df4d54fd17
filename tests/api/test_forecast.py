"""The queue formulas (wartezone_contract) against published values, and the arrival forecast and
early warning of api/forecast.py on series with a known pattern."""

from __future__ import annotations

import itertools
import math
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import wartezone_contract as contract
from api.forecast import (
    ArrivalForecast,
    ArrivalSeries,
    ForecastSettings,
    RecentArrivals,
    counters_by_step,
    early_warning,
    expected_arrivals,
    forecast_arrivals,
    per_second,
    public_holidays,
    queue_outlook,
    series_from_counts,
    skip_days,
    surge_ratio,
)

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 3, 2)
PER_DAY = 96  # 15-minute steps


def _erlang_c_by_factorials(c: int, load: float) -> float:
    """The textbook formula: (A^c / c!) (c / (c - A)) / (sum_{k<c} A^k / k! + that)."""
    top = load**c / math.factorial(c) * c / (c - load)
    return top / (sum(load**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize(
    ("counters", "arrival_rate", "service_rate", "published"),
    [
        (3, 2.0, 1.0, 4 / 9),  # A = 2 Erlang on 3 servers: 0.4444
        (12, 10.0, 1.0, 0.4494),  # A = 10 on 12
        (2, 1.0, 1.0, 1 / 3),  # A = 1 on 2
        (1, 0.5, 1.0, 0.5),  # M/M/1: the chance to wait is the load
        (3, 2 / 3600, 1 / 3600, 4 / 9),  # the first, in people per second: only the load counts
    ],
    ids=["A2c3", "A10c12", "A1c2", "mm1", "per second"],
)
def test_erlang_c_matches_published_tables_and_the_factorial_formula(
    counters: int, arrival_rate: float, service_rate: float, published: float
) -> None:
    value = contract.erlang_c(counters, arrival_rate, service_rate)
    assert value == pytest.approx(_erlang_c_by_factorials(counters, arrival_rate / service_rate), rel=1e-9)
    assert value == pytest.approx(published, abs=5e-4)


@pytest.mark.parametrize(
    ("counters", "arrival_rate", "expected"),
    [(3, 0.0, 0.0), (3, 3.0, 1.0), (3, 4.5, 1.0), (0, 1.0, 1.0), (0, 0.0, 0.0)],
    ids=["nobody comes", "exactly full", "over full", "no counter", "no counter, nobody"],
)
def test_erlang_c_edges(counters: int, arrival_rate: float, expected: float) -> None:
    assert contract.erlang_c(counters, arrival_rate, 1.0) == expected


def test_erlang_c_holds_for_hundreds_of_counters() -> None:
    """A^c and c! overflow a float near c = 170; the recursion does not."""
    value = contract.erlang_c(400, 380.0, 1.0)
    assert 0 < value < 1


@pytest.mark.parametrize(
    ("args", "names"),
    [
        ((-1, 1.0, 1.0), "counters"),
        ((1, -1.0, 1.0), "arrival_rate"),
        ((1, math.nan, 1.0), "arrival_rate"),
        ((1, 1.0, 0.0), "service_rate"),
        ((1, 1.0, math.inf), "service_rate"),
    ],
)
def test_erlang_c_names_a_bad_argument(args: tuple[int, float, float], names: str) -> None:
    with pytest.raises(ValueError, match=names):
        contract.erlang_c(*args)


def test_the_share_waiting_longer_and_the_mean_wait() -> None:
    c, lam, mu, t = 3, 2.0, 1.0, 0.5
    waits = contract.erlang_c(c, lam, mu)
    assert contract.wait_longer_share(c, lam, mu, t) == pytest.approx(waits * math.exp(-(c * mu - lam) * t))
    assert contract.wait_longer_share(c, lam, mu, 0.0) == pytest.approx(waits)
    assert contract.wait_longer_share(2, 2.0, 1.0, 100.0) == 1.0  # cannot keep up: everyone waits on
    assert contract.mean_queue_wait_s(1, 0.5, 1.0) == pytest.approx(1.0)  # M/M/1: rho / (mu - lambda)
    assert contract.mean_queue_wait_s(2, 2.0, 1.0) == math.inf
    with pytest.raises(ValueError, match="target_s"):
        contract.wait_longer_share(c, lam, mu, -1.0)


def test_counters_needed_is_the_fewest_that_meet_the_level() -> None:
    mu, target = 1 / 360, 1200.0  # 6 minutes a person, 20 minutes' target
    assert contract.counters_needed(0.0, mu, target) == 0
    previous = 0
    for per_hour in range(1, 400, 7):
        lam = per_hour / 3600
        needed = contract.counters_needed(lam, mu, target, 0.2)
        assert needed * mu > lam
        assert contract.wait_longer_share(needed, lam, mu, target) <= 0.2
        if needed > 1 and (needed - 1) * mu > lam:
            assert contract.wait_longer_share(needed - 1, lam, mu, target) > 0.2
        assert needed >= previous  # more people never need fewer counters
        previous = needed
    assert contract.counters_needed(45 / 3600, mu, target, 0.2) < contract.counters_needed(
        45 / 3600, mu, target, 0.01
    )
    with pytest.raises(ValueError, match="level"):
        contract.counters_needed(1.0, 1.0, 1.0, 1.0)
    # beyond MAX_COUNTERS it gives up: the target needs more, or keeping up alone does
    assert contract.counters_needed(contract.MAX_COUNTERS * mu * 0.999, mu, target) == contract.MAX_COUNTERS
    for lam in (contract.MAX_COUNTERS * mu * 0.9999, contract.MAX_COUNTERS * mu, 1e6 * mu):
        with pytest.raises(ValueError, match="more than 500 counters"):
            contract.counters_needed(lam, mu, target)


@pytest.mark.parametrize(
    ("exits", "counters", "waiting", "expected"),
    [
        ([], [], [], None),
        ([2, 2, 2], [2, 2, 2], [3, 3, 3], 6 / (6 * 60)),
        ([2, 2, 2, 0, 0], [2, 2, 2, 0, 0], [3, 3, 3, 5, 5], 6 / (6 * 60)),  # a break: no counter open
        ([2, 2, 2, 1, 0], [2, 2, 2, 2, 2], [3, 3, 3, 0, 0], 6 / (6 * 60)),  # the zone emptied
        ([1, 1, 1, 1], [1, 1, 1, 1], [2, 2, 2, 2], None),  # four exits: too few to say
    ],
    ids=["empty", "busy", "break", "emptied", "too few"],
)
def test_service_rate_counts_only_busy_minutes(
    exits: list[float], counters: list[float], waiting: list[float], expected: float | None
) -> None:
    assert contract.service_rate(exits, counters, waiting, 60.0) == (
        None if expected is None else pytest.approx(expected)
    )


def test_service_rate_names_bad_input() -> None:
    with pytest.raises(ValueError, match="one value per step"):
        contract.service_rate([1], [1, 2], [1], 60.0)
    with pytest.raises(ValueError, match="step_s"):
        contract.service_rate([1], [1], [1], 0.0)


def test_occupancy_forecast_fills_and_drains_as_a_fluid() -> None:
    mu = 1 / 360
    assert contract.occupancy_forecast(4.0, [], mu, 2) == []
    fills = contract.occupancy_forecast(4.0, [3 * mu] * 30, mu, 2)  # one counter's worth too many
    assert fills == pytest.approx([4.0 + mu * 60 * (i + 1) for i in range(30)])
    drains = contract.occupancy_forecast(4.0, [0.0] * 30, mu, 2)
    assert drains[-1] == 0.0 and all(a >= b for a, b in itertools.pairwise(drains))
    spread = contract.occupancy_forecast(4.0, [3 * mu] * 30, mu, 2, spread=1.0)
    assert spread[-1] == pytest.approx(fills[-1] + math.sqrt(5 * mu * 60 * 30))
    with pytest.raises(ValueError, match="waiting_now"):
        contract.occupancy_forecast(-1.0, [], mu, 2)


# --- the arrival forecast ----------------------------------------------------------------------


def _usual(day: date, step: int) -> float:
    """A branch's week: closed at the weekend and outside 08:00-16:00, Mondays busiest, a peak at 10."""
    if day.weekday() >= 5 or not 32 <= step < 64:
        return 0.0
    return (1.5 if day.weekday() == 0 else 1.0) * (6.0 + (4.0 if 40 <= step < 48 else 0.0))


def _series(days: int, value: object = _usual, first: date = MONDAY) -> ArrivalSeries:
    counts: list[float | None] = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        counts += [value(day, step) for step in range(PER_DAY)]  # type: ignore[operator]
    return ArrivalSeries(first, 900, counts)


def _origin(day: int, hour: float) -> int:
    return day * PER_DAY + int(hour * 4)


@pytest.mark.parametrize(
    ("days", "origin_day", "expected"),
    [(0, 0, None), (1, 1, None), (3, 3, "day"), (7, 7, "day"), (14, 14, "weekday"), (56, 56, "weekday")],
    ids=["nothing stored", "one day", "three days", "one week", "two weeks", "eight weeks"],
)
def test_the_forecast_appears_as_history_accumulates(
    days: int, origin_day: int, expected: str | None
) -> None:
    series = _series(days + 1)  # the day of the origin counts too, up to its origin
    found = forecast_arrivals(series, _origin(origin_day, 9.0))
    assert (found and found.basis) == expected


def test_a_known_weekly_pattern_comes_back() -> None:
    series = _series(8 * 7 + 1)
    found = forecast_arrivals(series, _origin(56, 9.5))  # a Monday, 09:30: two hours to 11:30
    assert found is not None and found.basis == "weekday" and found.today_ratio == pytest.approx(1.0)
    expected = [_usual(MONDAY, s) for s in range(38, 46)]
    assert list(found.counts) == pytest.approx(expected)


def test_noisy_arrivals_come_back_within_ten_percent() -> None:
    rng = random.Random(3)

    def noisy(day: date, step: int) -> float:
        usual = _usual(day, step)
        return float(sum(rng.random() < usual / 20 for _ in range(20)))  # binomial around usual

    series = _series(12 * 7 + 1, noisy)
    found = forecast_arrivals(series, _origin(84, 8.0), steps=32)
    assert found is not None
    assert sum(found.counts) == pytest.approx(sum(_usual(MONDAY, s) for s in range(32, 64)), rel=0.1)


def test_the_forecast_reads_nothing_from_its_origin_on() -> None:
    series = _series(15)
    later = ArrivalSeries(MONDAY, 900, [*series.counts[: _origin(14, 9)], *[999.0] * 1000])
    assert forecast_arrivals(series, _origin(14, 9)) == forecast_arrivals(later, _origin(14, 9))


def test_holidays_are_left_out_of_the_profile() -> None:
    """1 May 2026 is a Friday: closed, nobody came; the Friday profile after it is untouched."""
    may_day = date(2026, 5, 1)
    first = date(2026, 4, 3) - timedelta(days=3)  # a Tuesday before Good Friday (3 April)
    holidays = public_holidays("DE", "BY")
    assert may_day in holidays and date(2026, 4, 3) in holidays

    def closed_on_holidays(day: date, step: int) -> float:
        return 0.0 if day in holidays else _usual(day, step)

    series = _series(8 * 7, closed_on_holidays, first)
    friday = (date(2026, 5, 15) - first).days  # two weeks after 1 May
    origin = friday * PER_DAY + 36
    kept = forecast_arrivals(series, origin)
    skipped = forecast_arrivals(series, origin, skip_days(holidays))
    assert kept is not None and skipped is not None
    assert list(skipped.counts) == pytest.approx([_usual(date(2026, 5, 15), s) for s in range(36, 44)])
    assert sum(kept.counts) < 0.9 * sum(skipped.counts)  # counted in, the holiday drags it down


def test_a_busy_morning_raises_the_rest_of_the_day() -> None:
    def busy_today(day: date, step: int) -> float:
        return _usual(day, step) * (2.0 if day == MONDAY + timedelta(days=28) else 1.0)

    series = _series(29, busy_today)
    found = forecast_arrivals(series, _origin(28, 12.0))
    assert found is not None
    # 8 steps of 2x at 6-10 people: ratio (2u + 20) / (u + 20), shrunk below 2
    assert 1.5 < found.today_ratio < 2.0
    assert list(found.counts) == pytest.approx([found.today_ratio * _usual(MONDAY, s) for s in range(48, 56)])
    # the half hour behind as the forecast sees it now: the surge check holds arrivals against it
    assert list(found.before) == pytest.approx([found.today_ratio * _usual(MONDAY, s) for s in (46, 47)])


def test_series_from_counts_places_steps_on_the_local_clock() -> None:
    assert series_from_counts([], BERLIN) is None
    # 25 October 2026: clocks go back at 03:00; 02:00-02:15 happens twice and adds up
    first = datetime(2026, 10, 25, 2, 0, tzinfo=BERLIN).timestamp()
    series = series_from_counts([(first, 3.0), (first + 3600, 4.0), (first + 3600 + 900, 1.0)], BERLIN)
    assert series is not None and series.first_day == date(2026, 10, 25)
    assert series.counts[8] == 7.0 and series.counts[9] == 1.0 and series.counts[0] is None
    assert series.index_at(first + 60, BERLIN) == 8
    with pytest.raises(ValueError, match="counts"):
        series_from_counts([(first, -1.0)], BERLIN)


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"step_s": 7}, "step_s"),
        ({"horizon_steps": 0}, "horizon_steps"),
        ({"half_life_weeks": 0.0}, "half_life_weeks"),
        ({"today_prior": 0.0}, "today_prior"),
        ({"ratio_bounds": (2.0, 3.0)}, "ratio_bounds"),
    ],
)
def test_settings_name_a_bad_value(change: dict[str, object], names: str) -> None:
    with pytest.raises(ValueError, match=names):
        ForecastSettings(**change)  # type: ignore[arg-type]


def test_the_forecast_names_bad_input() -> None:
    with pytest.raises(ValueError, match="step_s"):
        forecast_arrivals(_series(1), 0, settings=ForecastSettings(step_s=3600))
    with pytest.raises(ValueError, match="origin"):
        forecast_arrivals(_series(1), -1)
    with pytest.raises(ValueError, match="holidays"):
        public_holidays("DE", "XX")


def test_per_second_spreads_each_step_over_its_minutes() -> None:
    found = forecast_arrivals(_series(15), _origin(14, 9.75), steps=2)  # a Monday 09:45: 9 then 15
    assert found is not None
    rates = per_second(found, 900, 60)
    assert rates == pytest.approx([9 / 900] * 15 + [15 / 900] * 15)
    with pytest.raises(ValueError, match="every_s"):
        per_second(found, 900, 7)


# --- the early warning -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("waiting_now", "path", "open_now", "expected"),
    [
        (3.0, [], True, None),  # nothing forecast: no warning
        (3.0, [5.0, 9.0, 12.0, 15.0], True, 240.0),  # reaches 15 at the fourth minute
        (3.0, [5.0, 9.0, 12.0, 15.0], False, None),  # closed: silent
        (16.0, [], True, 0.0),  # already at the raise level
        (3.0, [4.0] * 20 + [15.0], True, None),  # reaches it after warn_ahead_s (20 min)
        (3.0, [4.0] * 19 + [15.0], True, 1200.0),  # at exactly 20 minutes
        (3.0, [14.9] * 30, True, None),  # just below
        (3.0, [9.0, 15.0, 14.0, 12.0], True, None),  # touches it for one minute: the rule would not fire
        (16.0, [14.0, 12.0], True, None),  # at the level now, below in a minute: no alert either
        (16.0, [15.0, 12.0], True, 0.0),  # ... there for a minute: the alert fires
        (3.0, [9.0, 15.0, 14.0, 15.0, 16.0], True, 240.0),  # the run that holds, from minute 4
    ],
    ids=[
        "empty",
        "crosses",
        "closed",
        "already",
        "too late",
        "at the limit",
        "below",
        "a blip",
        "falling",
        "held",
        "the second run",
    ],
)
def test_early_warning(waiting_now: float, path: list[float], open_now: bool, expected: float | None) -> None:
    assert early_warning(waiting_now, path, 60.0, 15, open_now) == expected  # min_above_s: 60


@pytest.mark.parametrize(
    ("min_above_s", "expected"),
    [(0.0, 120.0), (60.0, None), (120.0, None), (90.0, None)],
)
def test_early_warning_looks_as_long_as_the_rule_needs(min_above_s: float, expected: float | None) -> None:
    # at the level for one forecast minute only, then held there for three
    path = [9.0, 15.0, 12.0, 10.0]
    assert early_warning(3.0, path, 60.0, 15, True, min_above_s=min_above_s) == expected
    assert early_warning(3.0, [9.0, 15.0, 15.0, 15.0], 60.0, 15, True, min_above_s=min_above_s) == 120.0


def test_early_warning_names_bad_input() -> None:
    with pytest.raises(ValueError, match="raise_level"):
        early_warning(1.0, [], 60.0, 0, True)
    with pytest.raises(ValueError, match="min_above_s"):
        early_warning(1.0, [], 60.0, 15, True, min_above_s=-1.0)


@pytest.mark.parametrize(
    ("arrived", "expected", "ratio"),
    [
        (30.0, 30.0, 1.0),  # as forecast
        (45.0, 30.0, 1.0),  # 2.7 deviations above: chance, not a surge
        (50.0, 30.0, 50 / 30),  # 3.7 deviations above: a surge
        (0.0, 30.0, 1.0),  # a lull is left to today's ratio
        (3.5, 0.0, 1.0),  # a quiet hour's few: 2.5 deviations above the 1 taken as expected
        (4.0, 0.0, 4.0),  # 3 deviations: a surge out of nothing
        (400.0, 10.0, 4.0),  # held at the bound
    ],
)
def test_surge_ratio(arrived: float, expected: float, ratio: float) -> None:
    assert surge_ratio(arrived, expected) == pytest.approx(ratio)


def test_surge_ratio_names_bad_input() -> None:
    with pytest.raises(ValueError, match="arrived and expected"):
        surge_ratio(-1.0, 30.0)
    with pytest.raises(ValueError, match="arrived and expected"):
        surge_ratio(30.0, math.nan)


def test_counters_by_step_staff_each_quarter_hour_ahead() -> None:
    """Each step after the running one by Erlang C on its forecast arrivals, 10 called per counter
    and hour; 5 minutes into the running step a surge of 2x reaches 35 minutes from its start."""
    forecast = ArrivalForecast(0, (15.0, 15.0, 15.0, 30.0, 15.0), "weekday", 1.0)
    service = 1 / 360

    def needed(per_step: float) -> int:
        return contract.counters_needed(per_step / 900, service)

    plain = counters_by_step(forecast, 900, 300.0, service)
    assert plain == (needed(15), needed(15), needed(30), needed(15))
    assert needed(30) > needed(15) > 0
    surged = counters_by_step(forecast, 900, 300.0, service, surge=2.0)
    # the step from minute 15 all at 2x; from minute 30, 5 of its 15 minutes; later ones as forecast
    assert surged == (needed(30), needed(15 * (5 * 2 + 10) / 15), needed(30), needed(15))
    assert surged[0] > plain[0] and surged[2:] == plain[2:]
    # a stricter target asks for more; more arrivals than any branch serves: not known
    assert counters_by_step(forecast, 900, 300.0, service, target_s=60.0)[2] > plain[2]
    assert counters_by_step(ArrivalForecast(0, (15.0, 1e6), "weekday", 1.0), 900, 0.0, service) == (None,)


def test_a_surge_raises_the_half_hour_ahead() -> None:
    """60 an hour forecast, 6 counters calling 10 an hour each: the room holds steady at 5, until
    twice the forecast came in the last half hour."""
    forecast = ArrivalForecast(0, (15.0, 15.0, 15.0), "weekday", 1.0)

    def outlook(recent: RecentArrivals | None) -> tuple[float, tuple[float, ...], int | None, float | None]:
        seen = queue_outlook(forecast, 900, 0.0, 5.0, 1 / 360, 6, 15, True, recent=recent)
        assert seen.occupancy is not None
        return seen.surge, seen.occupancy, seen.counters_needed, seen.warning_s

    steady = outlook(None)
    assert steady[0] == 1.0 and steady[1][-1] == pytest.approx(5.0) and steady[3] is None
    assert outlook(RecentArrivals.latest(30.0, 1800.0)) == steady  # what the forecast expected
    assert outlook(RecentArrivals.latest(40.0, 1800.0)) == steady  # within chance
    surge, path, needed, warning = outlook(RecentArrivals.latest(60.0, 1800.0))
    assert surge == pytest.approx(2.0)
    assert path[-1] == pytest.approx(35.0)  # 1 more a minute than the counters call, for 30 minutes
    assert steady[2] is not None and needed is not None and needed > steady[2]
    # the mean reaches 15 after 10 minutes, the mean and one deviation (sqrt(3 t)) after 6
    assert warning == 360.0


def test_a_surge_is_measured_against_what_the_half_hour_behind_was_forecast_to_bring() -> None:
    """Monday 10:05: the profile stepped up from 9 to 15 a quarter at 10:00, so the half hour
    behind was to bring 5 + 9 + 6 = 20, not the 30 of the rate now; 35 arrivals are a surge."""
    found = forecast_arrivals(_series(8 * 7 + 1), _origin(56, 10.0))
    assert found is not None and found.before == pytest.approx((9.0, 9.0))
    assert expected_arrivals(found, 900, 300.0, 1800.0) == pytest.approx(20.0)
    assert surge_ratio(35.0, 30.0) == 1.0  # held against the rate now: within chance
    recent = RecentArrivals.latest(35.0, 1800.0)
    seen = queue_outlook(found, 900, 300.0, None, None, None, None, True, recent=recent)
    assert seen.surge == pytest.approx(35.0 / 20.0)
    assert seen.arrival_rates is not None and seen.arrival_rates[0] == pytest.approx(35.0 / 20.0 * 15.0 / 900)


@pytest.mark.parametrize(
    ("before", "into_step_s", "expected"),
    [
        ((), 300.0, 30.0),  # nothing known behind: the rate now
        ((math.nan, 9.0), 300.0, 5.0 + 9.0 + 10.0),  # the step not known at the rate now
        ((3.0, 9.0), 900.0, 15.0 + 9.0),  # a whole step in, one step behind
        ((3.0, 9.0), 0.0, 9.0 + 3.0),
    ],
)
def test_expected_arrivals_take_each_minute_behind_at_its_own_step(
    before: tuple[float, ...], into_step_s: float, expected: float
) -> None:
    forecast = ArrivalForecast(0, (15.0, 15.0), "weekday", 1.0, before)
    assert expected_arrivals(forecast, 900, into_step_s, 1800.0) == pytest.approx(expected)


def test_a_camera_started_minutes_ago_is_held_against_those_minutes_alone() -> None:
    """Opening at 08:00, at 08:05: the 5 minutes known are held against the 5 arrivals the forecast
    expected of them, whether the night's minutes are stored as nobody or not at all (at the half
    hour's mean rate, 6 arrivals in 5 minutes would read as a fourfold surge)."""
    forecast = ArrivalForecast(0, (15.0, 15.0), "weekday", 1.0, (0.0, 0.0))
    assert expected_arrivals(forecast, 900, 300.0, 300.0) == pytest.approx(5.0)

    def surge(recent: RecentArrivals) -> float:
        return queue_outlook(forecast, 900, 300.0, None, None, None, None, True, recent=recent).surge

    for known_s in (300.0, 1800.0):
        assert surge(RecentArrivals.latest(6.0, known_s)) == 1.0
        assert surge(RecentArrivals.latest(15.0, known_s)) == pytest.approx(3.0)


def test_a_camera_down_mid_window_is_held_against_the_minutes_it_saw() -> None:
    """10:05, the step before at 9 a quarter, the one before that at 3; the camera was down from
    10 to 20 minutes ago. The 20 minutes it saw were to bring 5 + 3 + 2 = 10, not the 14 of the
    latest 20 minutes: 22 arrivals in them are a surge."""
    forecast = ArrivalForecast(0, (15.0, 15.0), "weekday", 1.0, (3.0, 9.0))
    now = 10_000 * 60.0 + 300.0
    stored = [(now - back * 60.0, 22.0 / 20) for back in [*range(30, 20, -1), *range(10, 0, -1)]]
    recent = RecentArrivals.from_minutes(stored, now, 60.0)
    assert recent.count == pytest.approx(22.0)
    assert recent.known == ((0.0, 600.0), (1200.0, 1800.0))
    assert recent.expected(forecast, 900, 300.0) == pytest.approx(10.0)
    assert expected_arrivals(forecast, 900, 300.0, 1200.0) == pytest.approx(14.0)  # as the latest
    seen = queue_outlook(forecast, 900, 300.0, None, None, None, None, True, recent=recent)
    assert seen.surge == pytest.approx(2.2)
    assert surge_ratio(22.0, 14.0) == 1.0  # held against the latest 20 minutes: within chance


def test_recent_arrivals_name_a_stretch_the_wrong_way_round() -> None:
    forecast = ArrivalForecast(0, (15.0,), "weekday", 1.0)
    with pytest.raises(ValueError, match="newer <= older"):
        RecentArrivals(3.0, ((600.0, 0.0),)).expected(forecast, 900, 0.0)


def test_expected_arrivals_name_bad_input() -> None:
    forecast = ArrivalForecast(0, (15.0,), "weekday", 1.0)
    with pytest.raises(ValueError, match="into_step_s"):
        expected_arrivals(forecast, 900, 901.0, 1800.0)
    with pytest.raises(ValueError, match="seconds"):
        expected_arrivals(forecast, 900, 0.0, -1.0)
