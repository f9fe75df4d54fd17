"""The queue figures through the service: counters open, service rate, arrival and occupancy
forecast, counters needed and the early warning, from stored readings (fake clock, real SQLite)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from api_support import FakeClock
from prometheus_client import CollectorRegistry

import wartezone_contract as contract
from api.counters import CounterSetting
from api.domain import Reading, Role, Snapshot, State, ZoneKey
from api.engine import ZoneView
from api.metrics import ApiMetrics
from api.queueing import NOTHING, QueueWatch, ZoneQueue
from api.readings import MinuteRow
from api.rules import RuleSpec
from api.schemas import ZoneOut
from api.service import Runtime
from api.settings import Settings
from api.storage import Storage

BERLIN = ZoneInfo("Europe/Berlin")
KEY = ZoneKey("north", "entrance", "waiting")
TODAY = date(2025, 11, 24)  # a Monday
NOW = datetime(2025, 11, 24, 11, 0, tzinfo=BERLIN).timestamp()


def workdays_before(day: date, count: int) -> list[date]:
    days, back = [], day
    while len(days) < count:
        back -= timedelta(days=1)
        if back.weekday() < 5:
            days.append(back)
    return days


def minutes(
    day: date, start_h: int, end_h: int, until: float | None = None, came: float = 1.0
) -> list[MinuteRow]:
    """One zone's stored minutes from start_h to end_h: 5 people waiting, `came` came and 1 was
    called each minute (60 an hour; with 2 counters, 30 called per counter and hour)."""
    first = datetime(day.year, day.month, day.day, start_h, tzinfo=BERLIN).timestamp()
    rows = []
    for m in range((end_h - start_h) * 60):
        minute = int(first + 60 * m)
        if until is not None and minute >= until:
            break
        rows.append(MinuteRow(KEY, minute, 5.0, 1, 5.0, 5.0, came, 1.0, None))
    return rows


class OneZone:
    """An occupancy input with one zone and the count the test sets."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.people = clock, 8.0

    async def read(self) -> Snapshot:
        now = self.clock.now()
        return Snapshot(now, {KEY: Reading(self.people, now)}, reported={KEY: "Wartebereich"}, complete=True)

    async def aclose(self) -> None:
        pass


@pytest.fixture
def open_runtime(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Runtime]]:
    """A service whose store holds `days` earlier workdays (08:00-16:00) and today until 11:00
    (`lately` arrivals a minute in its last half hour), with 2 counters set before, and a rule
    raising at `raise_level`."""
    made: list[Runtime] = []

    def make(days: int, raise_level: int = 10, lately: float = 1.0) -> Runtime:
        settings = make_settings()
        storage = Storage.open(settings.database)
        with storage.transaction():
            for day in workdays_before(TODAY, days):
                storage.save_readings(minutes(day, 8, 16))
            storage.save_readings(minutes(TODAY, 8, 16, until=NOW - 1800))
            storage.save_readings(minutes(TODAY, 8, 16, until=NOW, came=lately)[-30:])
            storage.add_counter_setting(KEY, CounterSetting(NOW - 30 * 86400, Role.DESK, counters=2))
        storage.close()
        clock = FakeClock(NOW)
        runtime = Runtime.open(settings, ApiMetrics(CollectorRegistry()), clock, OneZone(clock))
        runtime.set_rule(KEY, RuleSpec(raise_level=raise_level, clear_level=2))
        asyncio.run(runtime.poll_once())
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        asyncio.run(runtime.stop())


def zone(runtime: Runtime) -> ZoneOut:
    found = runtime.zone(KEY)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("days", "basis"),
    [
        (0, None),  # nothing stored before today: no forecast
        (2, None),  # two earlier workdays: still too little
        (3, "day"),  # the same time on 3 earlier workdays
        (15, "weekday"),  # the same weekday on 3 earlier weeks
    ],
)
def test_the_forecast_shows_once_enough_days_are_stored(
    open_runtime: Callable[..., Runtime], days: int, basis: str | None
) -> None:
    view = zone(open_runtime(days, 10))
    assert view.counters_open == 2
    assert view.forecast is not None  # the service rate is known from today's minutes
    assert view.forecast.service_rate_per_hour == pytest.approx(30.0)
    assert view.forecast.basis == basis
    if basis is None:
        assert (view.forecast.arrivals, view.forecast.occupancy, view.counters_needed) == (None, None, None)
        assert view.forecast.surge_ratio is None and view.forecast.arrivals_in_30_min is None
        return
    assert view.forecast.arrivals is not None and len(view.forecast.arrivals) == 8
    assert view.forecast.arrivals[0].arrivals == pytest.approx(15.0)  # 1 a minute, as every day
    assert view.forecast.surge_ratio == 1.0
    assert view.forecast.arrivals_in_30_min == pytest.approx(30.0)
    assert view.forecast.occupancy_in_30_min == pytest.approx(8.0, abs=0.5)  # 60 come, 60 are called
    # 1/min at 30 per counter and hour, 8 waiting: 3 counters keep 80 % under 20 minutes, 2 cannot
    assert view.counters_needed == 3
    # the steps after the running one (from 11:15) for their arrivals alone: 1/min needs 3 too
    ahead = view.forecast.counters_by_step
    assert ahead is not None and [s.counters for s in ahead] == [3] * 7
    assert [s.start for s in ahead] == [a.start for a in view.forecast.arrivals[1:]]
    assert ahead[0].start.timestamp() == NOW + 900


def test_a_surge_in_the_last_half_hour_raises_the_outlook(open_runtime: Callable[..., Runtime]) -> None:
    """Three a minute since 10:30 where every day brings one: the occupancy forecast and the counters
    needed take the half hour ahead at that rate, before today's ratio over two hours catches up."""
    surging = zone(open_runtime(15, 40, 3.0))  # (one runtime a test: they share the database)
    assert surging.forecast is not None
    # today's ratio over 2 h, shrunk by 20: (6 x 15 + 2 x 45 + 20) / (8 x 15 + 20); the last half
    # hour: 90 came where that ratio expected 2 x 15 x 1.43
    assert surging.forecast.today_ratio == pytest.approx(200 / 140, abs=1e-3)
    assert surging.forecast.surge_ratio == pytest.approx(90 / (30 * 200 / 140), abs=1e-3)
    # the half hour ahead at the last half hour's rate (today's ratio alone: 30 x 1.43 = 43)
    assert surging.forecast.arrivals_in_30_min == pytest.approx(90.0, abs=0.1)
    # 3 a minute against 1 called: about 2 more waiting each minute (a steady day: 8, and 3 counters
    # needed, test_the_forecast_shows_once_enough_days_are_stored)
    assert surging.forecast.occupancy_in_30_min is not None and surging.forecast.occupancy_in_30_min > 55
    assert surging.counters_needed is not None and surging.counters_needed >= 6
    # ahead: 11:15-11:30 lies in the half hour at the surge's rate, later steps at today's ratio
    ahead = surging.forecast.counters_by_step
    assert ahead is not None
    plain = contract.counters_needed(200 / 140 / 60, 1 / 120)
    assert ahead[0].counters == contract.counters_needed(3 / 60, 1 / 120) > plain
    assert [s.counters for s in ahead[1:]] == [plain] * 6


def test_the_early_warning_is_a_state_and_an_event(open_runtime: Callable[..., Runtime]) -> None:
    warned = open_runtime(15, 10)
    view = zone(warned)
    assert view.state == "warning" and view.warning is not None
    assert view.warning.reaches_raise_level_in_s is not None and view.warning.reaches_raise_level_in_s <= 1200
    [event] = [e for e in warned.events_after(0) if e.type == "zone.filling_up"]
    assert (event.state, event.raise_level, event.occupancy) == ("warning", 10, 8.0)
    calm = zone(open_runtime(15, 40))
    assert calm.state == "ok" and calm.warning is None


class CountingStorage(Storage):
    """The real SQLite store, counting what the queue figures ask of it."""

    reads: list[tuple[float, float]]

    def arrivals(self, key: ZoneKey, start: float, end: float, step_s: int) -> list[tuple[float, float]]:
        self.reads.append((start, end))
        return super().arrivals(key, start, end, step_s)


def test_earlier_days_are_read_once_a_day(tmp_path: Path) -> None:
    storage = CountingStorage.open(tmp_path / "api.sqlite3")
    assert isinstance(storage, CountingStorage)
    storage.reads = []
    with storage.transaction():
        for day in workdays_before(TODAY, 3):
            storage.save_readings(minutes(day, 8, 16))
    watch = QueueWatch(storage, BERLIN)
    view = ZoneView(KEY, State.OK, None, 3.0, NOW, None, True, RuleSpec(raise_level=10, clear_level=2), None)
    midnight = datetime(2025, 11, 24, tzinfo=BERLIN).timestamp()
    for at in (NOW, NOW + 60, NOW + 900, NOW + 1800):  # a step, a minute on, two steps on
        watch.minute([view], at, stored=True)
    earlier = [r for r in storage.reads if r[1] == midnight]
    today = [r for r in storage.reads if r[0] == midnight]
    assert len(earlier) == 1 and len(today) == 3  # earlier days once; today at each new step
    assert watch.figures[KEY].arrivals is not None
    storage.close()


def test_the_service_rate_counts_the_minutes_that_began_with_a_queue(tmp_path: Path) -> None:
    """Every other minute began empty and a queue formed in it (its mean 2 waiting, half a person
    called while the counters idled part of it): those minutes are left out, by their first read.
    A minute stored before the first read was kept (NULL) is judged by its mean instead."""
    storage = Storage.open(tmp_path / "api.sqlite3")
    first = int(NOW) - 3600
    busy = [MinuteRow(KEY, first + 120 * m, 5.0, 1, 5.0, 5.0, 0.0, 1.0, None) for m in range(30)]
    forming = [MinuteRow(KEY, first + 120 * m + 60, 2.0, 1, 3.0, 0.0, 0.0, 0.5, None) for m in range(30)]
    with storage.transaction():
        storage.save_readings(busy + forming)
        storage.add_counter_setting(KEY, CounterSetting(NOW - 86400, Role.DESK, counters=2))
    watch = QueueWatch(storage, BERLIN)
    view = ZoneView(KEY, State.OK, None, 3.0, NOW, None, True, RuleSpec(raise_level=10, clear_level=2), None)
    rate = watch.minute([view], NOW, stored=True)[KEY].service_rate
    assert rate is not None and rate * 3600 == pytest.approx(30.0)  # 1 a minute at 2 counters
    db = sqlite3.connect(tmp_path / "api.sqlite3")
    with db:
        db.execute("UPDATE readings SET occupancy_first = NULL")
    db.close()
    rate = watch.minute([view], NOW, stored=True)[KEY].service_rate
    assert rate is not None and rate * 3600 == pytest.approx(22.5)  # (1 + 0.5) in 2 minutes at 2
    storage.close()


def test_a_zone_without_rule_or_counters_gets_no_figures(make_settings: Callable[..., Settings]) -> None:
    """Weeks of stored minutes are read per zone: only for zones someone set a rule or counters for."""
    settings = make_settings()
    storage = Storage.open(settings.database)
    with storage.transaction():
        for day in workdays_before(TODAY, 15):
            storage.save_readings(minutes(day, 8, 16))
    storage.close()
    clock = FakeClock(NOW)
    runtime = Runtime.open(settings, ApiMetrics(CollectorRegistry()), clock, OneZone(clock))
    try:
        asyncio.run(runtime.poll_once())
        assert (zone(runtime).forecast, zone(runtime).counters_open) == (None, None)
        runtime.set_counters(KEY, 2, Role.DESK)
        asyncio.run(runtime.poll_once())
        assert zone(runtime).forecast is not None and zone(runtime).counters_open == 2
    finally:
        asyncio.run(runtime.stop())


def test_the_alert_fires_when_the_figures_fail(
    open_runtime: Callable[..., Runtime], make_settings: Callable[..., Settings]
) -> None:
    """A schedule the store cannot read (a database edited by hand) costs the figures, never the alert."""
    runtime = open_runtime(15, 5)  # 8 waiting: over the raise level
    db = sqlite3.connect(make_settings().database)
    with db:
        db.execute(
            "INSERT INTO counters (site, camera, zone, at, set_by, schedule) "
            "VALUES (?, ?, ?, ?, 'lead', '{')",
            (*KEY, NOW - 10),
        )
    db.close()
    runtime.set_rule(KEY, RuleSpec(raise_level=5, clear_level=2, min_above_s=0))  # the figures anew
    fired = asyncio.run(runtime.poll_once())
    assert [n.type.value for n in fired] == ["alert.fired"]
    assert zone(runtime).state == "firing"


@pytest.mark.parametrize(
    ("ahead", "next_hour"),
    [
        ((3, 5, 4, 6, 9, 9, 9), 6.0),  # the most of the four quarter hours after the running one
        ((3, None, 4, 6, 2, 2, 2), None),  # one beyond any branch: not known, no series
        (None, None),  # no forecast or no service rate
    ],
)
def test_the_next_hour_s_counters_are_a_metric(
    ahead: tuple[int | None, ...] | None, next_hour: float | None
) -> None:
    metrics = ApiMetrics(CollectorRegistry())
    figure = ZoneQueue(NOW, 2, None, 1 / 120, None, None, NOTHING, ahead)
    metrics.attach(list, lambda: 0, lambda: {KEY: figure})
    labels = {"site": KEY.site, "camera": KEY.camera, "zone": KEY.zone}
    assert metrics.registry.get_sample_value(contract.COUNTERS_NEEDED_NEXT_HOUR, labels) == next_hour
    assert metrics.registry.get_sample_value(contract.COUNTERS_OPEN, labels) == 2.0
