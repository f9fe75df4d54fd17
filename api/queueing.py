"""Every minute, per zone: counters open, service rate, arrival forecast, occupancy forecast,
counters needed and the early warning's answer, from the stored readings (where the API scrapes
the edge itself) and the counters' settings. The formulas are wartezone_contract's and
api/forecast.py's; this module only fetches their inputs and keeps the answers for the views.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from api.counters import counters_open, next_change
from api.domain import ZoneKey
from api.engine import ZoneView
from api.forecast import (
    SURGE_WINDOW_S,
    ArrivalForecast,
    ArrivalSeries,
    ForecastSettings,
    QueueOutlook,
    RecentArrivals,
    counters_by_step,
    forecast_arrivals,
    public_holidays,
    queue_outlook,
    series_from_counts,
    skip_days,
)
from api.readings import MINUTE_S
from api.rules import RuleSpec
from api.storage import Storage
from wartezone_contract import SERVICE_RATE_WINDOW_S, service_rate

NOTHING = QueueOutlook(None, None, None, None)
DEFAULT_RULE = RuleSpec(raise_level=1, clear_level=0)


@dataclass(frozen=True, slots=True)
class ZoneQueue:
    """One zone's queue figures as of `at`; None: not known."""

    at: float
    counters_open: int | None
    counters_until: float | None  # a number set now holds until the schedule's next change
    service_rate: float | None  # people called per open counter and second
    arrivals: ArrivalForecast | None
    arrivals_start: float | None  # Unix time of the arrival forecast's first step
    outlook: QueueOutlook
    counters_ahead: tuple[int | None, ...] | None = None  # for each step after the first (counters_by_step)


class QueueWatch:
    """The minute's figures per zone, and the caches that keep the minute cheap: an arrival forecast
    changes only when a 15-minute step ends, so it is made once per zone and step."""

    def __init__(
        self, storage: Storage, tz: ZoneInfo, settings: ForecastSettings | None = None, country: str = "DE"
    ) -> None:
        self._storage = storage
        self._tz = tz
        self._settings = settings or ForecastSettings()
        self._holidays = public_holidays(country)
        self._arrivals: dict[ZoneKey, tuple[float, ArrivalForecast | None]] = {}
        self._rates: dict[ZoneKey, float] = {}  # the last service rate known
        self._past: dict[ZoneKey, tuple[date, list[tuple[float, float]]]] = {}  # arrivals before today
        self.figures: dict[ZoneKey, ZoneQueue] = {}

    def counters(self, view: ZoneView, at: float) -> tuple[int | None, float | None]:
        settings = self._storage.counter_settings(view.key, since=at)
        return counters_open(settings, at, self._tz), next_change(settings, at, self._tz)

    def minute(self, views: Iterable[ZoneView], at: float, stored: bool) -> dict[ZoneKey, ZoneQueue]:
        """Every zone's figures at `at`; stored: the API keeps readings (else only counters are known)."""
        self.figures = {view.key: self._zone(view, at, stored) for view in views}
        return self.figures

    def refresh_counters(self, view: ZoneView, at: float) -> None:
        """A counters setting changed: the zone's number now, at once."""
        old = self.figures.get(view.key)
        number, until = self.counters(view, at)
        if old is None:
            self.figures[view.key] = ZoneQueue(at, number, until, None, None, None, NOTHING)
        else:
            self.figures[view.key] = replace(old, counters_open=number, counters_until=until)

    def _zone(self, view: ZoneView, at: float, stored: bool) -> ZoneQueue:
        key = view.key
        start = at - SERVICE_RATE_WINDOW_S
        settings = self._storage.counter_settings(key, since=start)
        number, until = counters_open(settings, at, self._tz), next_change(settings, at, self._tz)
        if not stored:
            return ZoneQueue(at, number, until, None, None, None, NOTHING)
        minutes = self._storage.minutes(key, start, at)
        opened = [counters_open(settings, m, self._tz) or 0 for m, _, _ in minutes]
        began_with = [waiting or 0.0 for _, waiting, _ in minutes]
        rate = service_rate([exits for _, _, exits in minutes], opened, began_with, MINUTE_S)
        if rate is not None:
            self._rates[key] = rate
        rate = self._rates.get(key)
        arrivals, arrivals_start = self._forecast(view, at)
        rule = view.rule or DEFAULT_RULE  # without a rule: the advice's defaults, no warning
        outlook = queue_outlook(
            arrivals,
            self._settings.step_s,
            at - (arrivals_start or at),
            view.occupancy,
            rate,
            number,
            rule.raise_level if view.rule is not None and rule.warn_ahead_min > 0 else None,
            bool(view.open_now),
            rule.warn_ahead_min * 60,
            rule.target_wait_min * 60,
            rule.max_share_over_target,
            min_above_s=rule.min_above_s,
            recent=self._recent(key, at),
        )
        ahead = None
        if arrivals is not None and arrivals_start is not None and rate is not None:
            ahead = counters_by_step(
                arrivals,
                self._settings.step_s,
                at - arrivals_start,
                rate,
                outlook.surge,
                rule.target_wait_min * 60,
                rule.max_share_over_target,
            )
        return ZoneQueue(at, number, until, rate, arrivals, arrivals_start, outlook, ahead)

    def _recent(self, key: ZoneKey, at: float) -> RecentArrivals | None:
        """The arrivals of the whole stored minutes of the last SURGE_WINDOW_S, and which stretches
        of it they cover (a minute not stored is not known, rather than nobody)."""
        end = at - at % MINUTE_S
        stored = self._storage.arrivals(key, end - SURGE_WINDOW_S, end, MINUTE_S)
        return RecentArrivals.from_minutes(stored, at, MINUTE_S) if stored else None

    def _forecast(self, view: ZoneView, at: float) -> tuple[ArrivalForecast | None, float | None]:
        """The arrival forecast from the step running at `at` on (made once per step), and that
        step's start."""
        step = self._settings.step_s
        begins = at - at % step  # steps of 15 minutes start at the same instants in every zone
        cached = self._arrivals.get(view.key)
        if cached is not None and cached[0] == begins:
            return cached[1], begins if cached[1] is not None else None
        # The days before today never change: read once a day, today's steps at every step.
        today = datetime.fromtimestamp(begins, self._tz).date()
        midnight = datetime.combine(today, time(0), self._tz).timestamp()
        past = self._past.get(view.key)
        if past is None or past[0] != today:
            lookback = (self._settings.lookback_weeks * 7 + 1) * 86400.0
            past = self._past[view.key] = (
                today,
                self._storage.arrivals(view.key, midnight - lookback, midnight, step),
            )
        pairs = past[1] + self._storage.arrivals(view.key, midnight, begins, step)
        series = series_from_counts(pairs, self._tz, step)
        forecast = None
        if series is not None:
            origin = series.index_at(begins, self._tz)
            room = origin + self._settings.horizon_steps - len(series.counts)
            padded = ArrivalSeries(series.first_day, step, [*series.counts, *[None] * max(0, room)])
            hours = view.rule.opening_hours if view.rule is not None else None
            closed: Container[date] = hours.closed_dates if hours is not None else ()
            forecast = forecast_arrivals(padded, origin, skip_days(self._holidays, closed), self._settings)
        self._arrivals[view.key] = (begins, forecast)
        return forecast, begins if forecast is not None else None
