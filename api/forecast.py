"""Arrivals per waiting zone, forecast in 15-minute steps for the next two hours, and the early
warning that the room fills up. Pure functions of counts: no storage, no clock, no network; the
API feeds them its stored readings and benchmarks/forecast.py its series.

The forecast is the profile of the same weekday and time in earlier weeks (recent weeks weigh
more: exponential weights with a half-life of three weeks), leaving out public holidays and
closed dates, scaled by how today runs so far: the ratio of today's arrivals to the profile over
the last hours, shrunk towards 1 while little of today is known. With fewer than `min_weeks`
earlier same weekdays it falls back to the same time on the last days of the same kind (workday
or weekend); with less than that it says nothing (None). The half hour ahead follows a surge
that the last half hour's arrivals show (surge_ratio). The queue formulas that turn it into
occupancy and counters needed live in wartezone_contract.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

import wartezone_contract as contract
from api.rules import RuleSpec

DAY_S = 86400
WEEK_DAYS = 7
WARN_AHEAD_S = RuleSpec.model_fields["warn_ahead_min"].default * 60.0  # a rule's default, in seconds
WARNING_HOLD_S = 600.0  # a warning stays on this long after the last minute that warned
MIN_ABOVE_S: float = RuleSpec.model_fields["min_above_s"].default  # a rule's default: time at the level
# The warning reads the fluid queue plus this many standard deviations of the arrivals and calls
# to come (sqrt((lambda + c mu) t)): the fluid mean alone crosses the raise level only minutes
# before the room does. On 20 simulated branch weeks (benchmarks/forecast.py) a spread of
# 0 / 0.5 / 1 / 1.5 / 2 warned 57 / 71 / 81 / 81 / 90 % of the alerts 10 minutes ahead, and
# 49 / 61 / 72 / 81 / 87 % of the warnings were followed by no alert. Even a warning that knows the
# true state (queue, services, arrival rates, a surge from its start) leaves 45 % without an alert
# at 81 % warned: near misses are the queue's own chance (the bench's --best-case).
OCCUPANCY_SPREAD = 1.0
# A surge (a bus, letters sent to many) shows in the last half hour's arrivals long before today's
# ratio over two hours moves. Where they lie SURGE_Z Poisson standard deviations or more above
# what the forecast expected of that half hour (expected_arrivals), the half hour ahead is forecast
# at their rate (surge_ratio). On simulated branch weeks with the advice followed it cut the alerts
# by a quarter to two fifths for about the same counter-hours (more hours asked for without it did
# not); windows of 20 and 45 minutes and 2 or 2.5 deviations did no better (docs/lead.md).
SURGE_WINDOW_S = 1800.0
SURGE_Z = 3.0
SURGE_MAX_RATIO = 4.0  # as today's ratio: beyond this the forecast knows nothing anyway
# The next hour, for staffing ahead: the four quarter hours after the running one (the lead page, the
# metric wartezone_counters_needed_next_hour, the bench's score of counters_by_step).
NEXT_HOUR_STEPS = 4

Basis = Literal["weekday", "day"]


@dataclass(frozen=True)
class ForecastSettings:
    step_s: int = 900
    horizon_steps: int = 8  # two hours of 15-minute steps
    half_life_weeks: float = 3.0  # a week this far back weighs half as much as last week
    lookback_weeks: int = 12
    min_weeks: int = 2  # same weekday and time seen on this many earlier days: the weekday profile
    min_days: int = 3  # else the same time on this many earlier days of the same kind
    today_steps: int = 8  # today's ratio over the last two hours ...
    today_prior: float = 20.0  # ... as (arrived + prior) / (profile + prior): few arrivals say little
    ratio_bounds: tuple[float, float] = (0.25, 4.0)

    def __post_init__(self) -> None:
        if self.step_s <= 0 or DAY_S % self.step_s:
            raise ValueError(f"step_s: a whole part of a day in seconds (900, 3600), got {self.step_s}")
        for name in ("horizon_steps", "lookback_weeks", "min_weeks", "min_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: 1 or more, got {getattr(self, name)}")
        if self.today_steps < 0:
            raise ValueError(f"today_steps: 0 or more, got {self.today_steps}")
        if not self.half_life_weeks > 0:
            raise ValueError(f"half_life_weeks: above 0, got {self.half_life_weeks}")
        if not self.today_prior > 0:
            raise ValueError(f"today_prior: above 0 people, got {self.today_prior}")
        low, high = self.ratio_bounds
        if not 0 < low <= 1 <= high:
            raise ValueError(f"ratio_bounds: (low, high) with 0 < low <= 1 <= high, got {self.ratio_bounds}")


@dataclass(frozen=True)
class ArrivalSeries:
    """Arrivals per step on the local wall clock: index 0 is first_day 00:00 local time, each
    day holds DAY_S / step_s steps (a day when clocks change too: the repeated hour adds to its
    step, the skipped one stays unknown). None: not known (camera down, before counting began)."""

    first_day: date
    step_s: int
    counts: Sequence[float | None]

    def __post_init__(self) -> None:
        if self.step_s <= 0 or DAY_S % self.step_s:
            raise ValueError(f"step_s: a whole part of a day in seconds (900, 3600), got {self.step_s}")

    @property
    def steps_per_day(self) -> int:
        return DAY_S // self.step_s

    def day_of(self, index: int) -> date:
        return self.first_day + timedelta(days=index // self.steps_per_day)

    def index_at(self, at: float, tz: ZoneInfo) -> int:
        """The step that holds the moment `at` (Unix seconds), by its local wall-clock time."""
        local = datetime.fromtimestamp(at, tz)
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        return (local.date() - self.first_day).days * self.steps_per_day + seconds // self.step_s


def series_from_counts(
    counts: Iterable[tuple[float, float]], tz: ZoneInfo, step_s: int = 900
) -> ArrivalSeries | None:
    """A series from (step start in Unix seconds, arrivals in that step) pairs; None with none."""
    if step_s <= 0 or DAY_S % step_s:
        raise ValueError(f"step_s: a whole part of a day in seconds (900, 3600), got {step_s}")
    placed: dict[tuple[date, int], float] = {}
    for at, count in counts:
        if not count >= 0:
            raise ValueError(f"counts: arrivals of 0 or more per step, got {count} at {at}")
        local = datetime.fromtimestamp(at, tz)
        key = (local.date(), (local.hour * 3600 + local.minute * 60 + local.second) // step_s)
        placed[key] = placed.get(key, 0.0) + count
    if not placed:
        return None
    first = min(day for day, _ in placed)
    per_day = DAY_S // step_s
    days = (max(day for day, _ in placed) - first).days + 1
    values: list[float | None] = [None for _ in range(days * per_day)]
    for (day, step), count in placed.items():
        values[(day - first).days * per_day + step] = count
    return ArrivalSeries(first, step_s, values)


def public_holidays(country: str = "DE", subdiv: str | None = None) -> Container[date]:
    """The public holidays of a country (and state: "BY", "NW", ...), from the holidays package."""
    try:
        return holidays.country_holidays(country, subdiv=subdiv)
    except NotImplementedError as error:  # what holidays raises for an unknown country or state
        raise ValueError(f"holidays: {country}/{subdiv}: {error}") from error


def skip_days(*closed: Container[date]) -> Callable[[date], bool]:
    """The days left out of the profile: in any of the given sets (holidays, closed dates)."""
    return lambda day: any(day in days for days in closed)


@dataclass(frozen=True)
class ArrivalForecast:
    origin: int  # the series index of the first step forecast
    counts: tuple[float, ...]  # arrivals per step from the origin on
    basis: Basis  # "weekday": the same weekday's profile; "day": the fallback on recent days
    today_ratio: float  # how today runs against the profile so far (1: as usual or unknown)
    # what the steps just before origin were forecast to bring, as the forecast from origin sees
    # them (profile times today's ratio; nan: not known): what a surge is measured against
    before: tuple[float, ...] = ()


def _profile(
    values: Sequence[float | None],
    target: int,
    origin: int,
    lag: int,
    count: int,
    half_life: float,
    skip: Callable[[int], bool],
) -> tuple[float, int]:
    """Weighted mean of the values lag, 2 lag, ... count lags before target, known before origin."""
    total, weights, seen = 0.0, 0.0, 0
    for back in range(1, count + 1):
        index = target - back * lag
        if index < 0:
            break
        value = values[index] if index < origin else None
        if value is None or skip(index):
            continue
        weight = 0.5 ** (back / half_life)
        total += weight * value
        weights += weight
        seen += 1
    return (total / weights if weights else math.nan), seen


def profile_at(
    series: ArrivalSeries,
    target: int,
    origin: int,
    skip_day: Callable[[date], bool],
    settings: ForecastSettings,
) -> tuple[float, Basis] | None:
    """The usual arrivals in step `target` from what was known before `origin`: the same weekday
    and time, else the same time on recent days of the same kind; None if neither is known."""
    per_day = series.steps_per_day

    def skip(index: int) -> bool:
        return skip_day(series.day_of(index))

    value, seen = _profile(
        series.counts,
        target,
        origin,
        WEEK_DAYS * per_day,
        settings.lookback_weeks,
        settings.half_life_weeks,
        skip,
    )
    if seen >= settings.min_weeks:
        return value, "weekday"
    weekend = series.day_of(target).weekday() >= 5

    def other_kind(index: int) -> bool:
        return skip(index) or (series.day_of(index).weekday() >= 5) != weekend

    value, seen = _profile(
        series.counts,
        target,
        origin,
        per_day,
        2 * WEEK_DAYS,
        settings.half_life_weeks * WEEK_DAYS,
        other_kind,
    )
    return (value, "day") if seen >= settings.min_days else None


def forecast_arrivals(
    series: ArrivalSeries,
    origin: int,
    skip_day: Callable[[date], bool] = lambda _: False,
    settings: ForecastSettings | None = None,
    steps: int | None = None,
) -> ArrivalForecast | None:
    """Arrivals in the `steps` (default the settings' horizon) steps from index `origin` on,
    from the series before it alone; None while the history is too short for any of them. (The
    step still running at origin is left out of today's ratio: counting its first minutes too
    changed nothing on the simulated branch, benchmarks/forecast.py.)"""
    settings = settings or ForecastSettings()
    if series.step_s != settings.step_s:
        raise ValueError(f"series.step_s {series.step_s} differs from settings.step_s {settings.step_s}")
    steps = settings.horizon_steps if steps is None else steps
    if origin < 0 or steps < 1:
        raise ValueError(f"origin: 0 or more, steps: 1 or more, got {origin}, {steps}")
    ahead: list[float] = []
    weakest: Basis = "weekday"
    for target in range(origin, origin + steps):
        found = profile_at(series, target, origin, skip_day, settings)
        if found is None:
            return None
        ahead.append(found[0])
        weakest = "day" if found[1] == "day" else weakest
    ratio = today_ratio(series, origin, skip_day, settings)
    before = []
    for target in range(max(0, origin - math.ceil(SURGE_WINDOW_S / series.step_s)), origin):
        found = profile_at(series, target, origin, skip_day, settings)
        before.append(found[0] * ratio if found is not None else math.nan)
    return ArrivalForecast(origin, tuple(v * ratio for v in ahead), weakest, ratio, tuple(before))


def today_ratio(
    series: ArrivalSeries,
    origin: int,
    skip_day: Callable[[date], bool],
    settings: ForecastSettings,
) -> float:
    """Today's arrivals over the profile in the last today_steps steps before origin (today
    only), shrunk towards 1 by today_prior people on both sides and held within ratio_bounds."""
    day_start = origin - origin % series.steps_per_day
    arrived, usual = 0.0, 0.0
    for index in range(max(day_start, origin - settings.today_steps), min(origin, len(series.counts))):
        value = series.counts[index]
        found = profile_at(series, index, origin, skip_day, settings)
        if value is None or found is None:
            continue
        arrived += value
        usual += found[0]
    low, high = settings.ratio_bounds
    return min(high, max(low, (arrived + settings.today_prior) / (usual + settings.today_prior)))


def per_second(forecast: ArrivalForecast, step_s: float, every_s: float) -> list[float]:
    """The forecast as arrival rates per second for each `every_s` (e.g. the contract's
    1-minute occupancy steps) over its reach."""
    if not 0 < every_s <= step_s or step_s % every_s:
        raise ValueError(f"every_s: a whole part of step_s {step_s}, got {every_s}")
    per_step = int(step_s // every_s)
    return [count / step_s for count in forecast.counts for _ in range(per_step)]


def early_warning(
    waiting_now: float,
    occupancy_path: Sequence[float],
    step_s: float,
    raise_level: float,
    open_now: bool,
    warn_ahead_s: float = WARN_AHEAD_S,
    min_above_s: float = MIN_ABOVE_S,
) -> float | None:
    """Seconds until the zone is forecast to reach raise_level (0: it has) and stay there for
    min_above_s, as the alert rule needs to fire, if it reaches it within warn_ahead_s and the
    zone is open; None: no warning. occupancy_path[i] is the forecast at (i + 1) * step_s from now
    (wartezone_contract.occupancy_forecast); a run still above at the path's end counts."""
    if not step_s > 0 or not warn_ahead_s >= 0 or not raise_level > 0 or not min_above_s >= 0:
        raise ValueError(
            f"step_s and raise_level above 0, warn_ahead_s and min_above_s 0 or more: got {step_s}, "
            f"{raise_level}, {warn_ahead_s}, {min_above_s}"
        )
    if not open_now:
        return None
    held = math.ceil(min_above_s / step_s)  # steps after the first one at the level
    path = [waiting_now, *occupancy_path]
    for i, waiting in enumerate(path):
        if i * step_s > warn_ahead_s:
            break
        if waiting >= raise_level and all(w >= raise_level for w in path[i + 1 : i + 1 + held]):
            return i * step_s
    return None


@dataclass(frozen=True)
class RecentArrivals:
    """What came in the last SURGE_WINDOW_S: `count` arrivals in the stretches of it that are
    known, each (newer, older) in seconds before now (a minute not stored is not known, rather
    than nobody: a camera down for ten minutes is held against the minutes it saw)."""

    count: float
    known: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        for newer, older in self.known:
            if not 0 <= newer <= older:
                raise ValueError(
                    f"known: (newer, older) seconds before now, 0 <= newer <= older, got {newer}, {older}"
                )

    @classmethod
    def latest(cls, count: float, seconds: float) -> RecentArrivals:
        """`count` arrivals in the last `seconds`, all of them known."""
        return cls(count, ((0.0, seconds),))

    @classmethod
    def from_minutes(
        cls, stored: Sequence[tuple[float, float]], now: float, minute_s: float
    ) -> RecentArrivals:
        """From (minute start, arrivals) of the minutes stored, oldest first, as of `now`."""
        known: list[tuple[float, float]] = []
        for minute, _ in reversed(stored):  # newest first: a minute next to the last joins its stretch
            newer, older = now - minute - minute_s, now - minute
            if known and known[-1][1] == newer:
                known[-1] = (known[-1][0], older)
            else:
                known.append((newer, older))
        return cls(sum(count for _, count in stored), tuple(known))

    def expected(self, forecast: ArrivalForecast, step_s: int, into_step_s: float) -> float:
        """What the forecast expected of the stretches known (expected_arrivals)."""
        total = 0.0
        for newer, older in self.known:
            total += expected_arrivals(forecast, step_s, into_step_s, older)
            total -= expected_arrivals(forecast, step_s, into_step_s, newer)
        return total


def expected_arrivals(forecast: ArrivalForecast, step_s: int, into_step_s: float, seconds: float) -> float:
    """The arrivals the forecast expected in the `seconds` before now, `into_step_s` into its first
    step: the steps before it at what they were forecast to bring (the rate now would expect too
    much just after the profile steps up at a full hour, and see a surge late, and too little
    after a step down), anything not known at the rate now."""
    if not 0 <= into_step_s <= step_s or not seconds >= 0:
        raise ValueError(
            f"into_step_s: 0 to step_s {step_s}, seconds 0 or more, got {into_step_s}, {seconds}"
        )
    now = forecast.counts[0] / step_s
    inside = min(into_step_s, seconds)
    total, left = inside * now, seconds - inside
    for count in reversed(forecast.before):
        if left <= 0:
            break
        part = min(left, step_s)
        total += part * (count / step_s if math.isfinite(count) else now)
        left -= part
    return total + left * now  # further back than the steps kept


def surge_ratio(arrived: float, expected: float) -> float:
    """How many times the expected arrivals came, where that is a surge: SURGE_Z Poisson standard
    deviations or more above `expected` (taken as at least 1, so that a quiet hour's few people do
    not read as one), at most SURGE_MAX_RATIO; 1 otherwise. Only upwards: a lull fills no room, and
    today's ratio follows it."""
    if not arrived >= 0 or not expected >= 0:
        raise ValueError(f"arrived and expected: 0 or more people, got {arrived}, {expected}")
    expected = max(expected, 1.0)
    if arrived - expected < SURGE_Z * math.sqrt(expected):
        return 1.0
    return min(SURGE_MAX_RATIO, arrived / expected)


@dataclass(frozen=True)
class QueueOutlook:
    """What the next half hour holds for one waiting zone, each part None where it is not known."""

    arrival_rates: tuple[float, ...] | None  # forecast arrivals per second, minute by minute
    occupancy: tuple[float, ...] | None  # people waiting at the end of each minute (fluid mean)
    counters_needed: int | None
    warning_s: float | None  # early_warning's answer: seconds until the raise level, or None
    surge: float = 1.0  # surge_ratio: the arrival rates are the forecast's times this


def half_hour_ahead(into_step_s: float) -> slice:
    """The minutes of the OCCUPANCY_FORECAST_S from now in minute_rates, when `into_step_s` seconds
    of the forecast's first step have passed."""
    into = int(into_step_s // contract.OCCUPANCY_FORECAST_STEP_S)
    return slice(into, into + int(contract.OCCUPANCY_FORECAST_S // contract.OCCUPANCY_FORECAST_STEP_S))


def minute_rates(
    forecast: ArrivalForecast, step_s: int, into_step_s: float, surge: float = 1.0
) -> list[float]:
    """Arrival rates per second, one per minute of the forecast's reach from its first step's start;
    the half hour ahead (half_hour_ahead) at `surge` times the forecast, the one place a surge
    raises the rates that the occupancy forecast, the advice and counters_by_step run on."""
    rates = per_second(forecast, step_s, contract.OCCUPANCY_FORECAST_STEP_S)
    ahead = half_hour_ahead(into_step_s)
    rates[ahead] = [rate * surge for rate in rates[ahead]]
    return rates


def counters_advice(
    rates: Sequence[float], service_rate: float, waiting_now: float, target_s: float, level: float
) -> int:
    """Counters needed for the next half hour's forecast arrivals, the people waiting now counted
    as if they came within it (Erlang C, wartezone_contract.counters_needed). Raises ValueError
    beyond MAX_COUNTERS."""
    arrival_rate = (sum(rates) / len(rates) if rates else 0.0) + waiting_now / contract.OCCUPANCY_FORECAST_S
    return contract.counters_needed(arrival_rate, service_rate, target_s, level)


def counters_by_step(
    forecast: ArrivalForecast,
    step_s: int,
    into_step_s: float,
    service_rate: float,
    surge: float = 1.0,
    target_s: float = contract.TARGET_WAIT_S,
    level: float = contract.WAIT_LONGER_LEVEL,
) -> tuple[int | None, ...]:
    """The counters each step after the running one needs, for staffing ahead: Erlang C
    (wartezone_contract.counters_needed) on the step's forecast arrivals, its minutes within the half
    hour ahead at the surge's ratio as the occupancy forecast takes them. The arrivals alone: who
    waits now is the advice's for the half hour ahead (counters_advice). None: beyond MAX_COUNTERS."""
    rates = minute_rates(forecast, step_s, into_step_s, surge)
    per_step = int(step_s // contract.OCCUPANCY_FORECAST_STEP_S)
    needed: list[int | None] = []
    for step in range(1, len(forecast.counts)):
        rate = sum(rates[step * per_step : (step + 1) * per_step]) / per_step
        try:
            needed.append(contract.counters_needed(rate, service_rate, target_s, level))
        except ValueError:  # beyond any branch
            needed.append(None)
    return tuple(needed)


def queue_outlook(
    forecast: ArrivalForecast | None,
    step_s: int,
    into_step_s: float,
    waiting_now: float | None,
    service_rate: float | None,
    counters: int | None,
    raise_level: float | None,
    open_now: bool,
    warn_ahead_s: float = WARN_AHEAD_S,
    target_s: float = contract.TARGET_WAIT_S,
    level: float = contract.WAIT_LONGER_LEVEL,
    spread: float = OCCUPANCY_SPREAD,
    min_above_s: float = MIN_ABOVE_S,
    recent: RecentArrivals | None = None,
) -> QueueOutlook:
    """The arrival forecast, raised where the recent arrivals show a surge, turned into the
    occupancy forecast, the counters advice and the early warning (the one chain the API and
    benchmarks/queue_sim.py both run)."""
    if forecast is None:
        return QueueOutlook(None, None, None, None)
    ahead = half_hour_ahead(into_step_s)
    rates = minute_rates(forecast, step_s, into_step_s)[ahead]
    surge = 1.0
    if recent is not None and rates:
        surge = surge_ratio(recent.count, recent.expected(forecast, step_s, into_step_s))
        rates = minute_rates(forecast, step_s, into_step_s, surge)[ahead]
    if waiting_now is None or service_rate is None:
        return QueueOutlook(tuple(rates), None, None, None, surge)
    try:
        needed: int | None = counters_advice(rates, service_rate, waiting_now, target_s, level)
    except ValueError:  # beyond any branch
        needed = None
    if counters is None:
        return QueueOutlook(tuple(rates), None, needed, None, surge)
    path = contract.occupancy_forecast(waiting_now, rates, service_rate, counters)
    warning = None
    if raise_level is not None:
        band = contract.occupancy_forecast(waiting_now, rates, service_rate, counters, spread=spread)
        warning = early_warning(
            waiting_now,
            band,
            contract.OCCUPANCY_FORECAST_STEP_S,
            raise_level,
            open_now,
            warn_ahead_s,
            min_above_s,
        )
    return QueueOutlook(tuple(rates), tuple(path), needed, warning, surge)
