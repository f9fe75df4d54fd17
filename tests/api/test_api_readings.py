"""The readings the API stores where it scrapes the edge itself: per zone and minute, counts only
(occupancy sum and reads, peak, first read, entries, exits, reads at the raise level), a minute
written in two parts added up, and deleted after `readings.retention_days` by the API's (injected) clock."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from api_support import FakeClock
from prometheus_client import CollectorRegistry

from api.domain import Reading, Snapshot, ZoneKey
from api.metrics import ApiMetrics
from api.readings import MinuteReadings, MinuteRow
from api.rules import RuleSpec
from api.service import Runtime
from api.settings import Settings, SettingsError
from api.storage import Storage
from wartezone_contract import ROOM_CAMERA

WAITING = ZoneKey("north", "entrance", "waiting")
QUEUE = ZoneKey("north", "entrance", "queue")
ROOM = ZoneKey("north", ROOM_CAMERA, "hall")
T0 = 1_764_000_000.0  # a minute's start (a multiple of 60)
DAY = 86400.0


def read(at: float, occupancy: dict[ZoneKey, tuple[float, int | None]], entries: float, exits: float) -> Any:
    return (at, occupancy, {WAITING: entries}, {WAITING: exits})


@pytest.mark.parametrize(
    ("reads", "rows"),
    [
        ([], []),
        # the first read is the counters' baseline; a minute is written when a read starts the next
        (
            [read(T0, {WAITING: (3.0, 5)}, 10, 4), read(T0 + 30, {WAITING: (6.0, 5)}, 12, 5),
             read(T0 + 60, {WAITING: (2.0, 5)}, 13, 5)],
            [MinuteRow(WAITING, int(T0), 9.0, 2, 6.0, 3.0, 2.0, 1.0, 1)],
        ),
        # no rule: nothing is judged against a raise level
        (
            [read(T0, {WAITING: (7.0, None)}, 0, 0), read(T0 + 60, {}, 0, 0)],
            [MinuteRow(WAITING, int(T0), 7.0, 1, 7.0, 7.0, 0.0, 0.0, None)],
        ),
        # the edge restarted: 2 entries from 0 after it
        (
            [read(T0, {WAITING: (1.0, 5)}, 10, 4), read(T0 + 20, {WAITING: (1.0, 5)}, 2, 4),
             read(T0 + 60, {}, 2, 4)],
            [MinuteRow(WAITING, int(T0), 2.0, 2, 1.0, 1.0, 2.0, 0.0, 0)],
        ),
        # a camera down all minute, nobody counted coming or going: no row (unknown, never 0 people)
        ([read(T0, {}, 10, 4), read(T0 + 30, {}, 10, 4), read(T0 + 60, {}, 10, 4)], []),
        # people who left while the camera was down are still counted, in the minute they were read
        (
            [read(T0, {}, 10, 4), read(T0 + 30, {}, 10, 6), read(T0 + 60, {}, 10, 6)],
            [MinuteRow(WAITING, int(T0), 0.0, 0, None, None, 0.0, 2.0, None)],
        ),
    ],
    ids=["empty", "one minute", "no rule", "reset", "camera down", "exits while down"],
)  # fmt: skip
def test_reads_become_minutes(reads: list[Any], rows: list[MinuteRow]) -> None:
    minutes = MinuteReadings()
    written = [row for args in reads for row in minutes.add(*args)]
    assert written == rows


def test_the_minute_so_far_is_taken_at_shutdown() -> None:
    minutes = MinuteReadings()
    assert minutes.take() == []
    minutes.add(T0 + 5, {WAITING: (4.0, 3), QUEUE: (1.0, None)}, {}, {})
    assert minutes.take() == [
        MinuteRow(QUEUE, int(T0), 1.0, 1, 1.0, 1.0, 0.0, 0.0, None),
        MinuteRow(WAITING, int(T0), 4.0, 1, 4.0, 4.0, 0.0, 0.0, 1),
    ]
    assert minutes.take() == []


def stored(database: Path) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(database)
    try:
        return [tuple(r) for r in db.execute("SELECT * FROM readings ORDER BY site, camera, zone, minute")]
    finally:
        db.close()


def test_a_partial_room_counts_for_the_peak_only() -> None:
    """A room with a camera down counts at least what it says: a lower count in the mean, the
    first read or the reads at the raise level would pass for a quieter room; the peak may take it.
    A minute of partial reads alone is a minute without a count (its rule still there)."""
    minutes = MinuteReadings()
    minutes.add(T0, {ROOM: (5.0, 4)}, {}, {})
    minutes.add(T0 + 20, {ROOM: (3.0, 4)}, {}, {}, partial={ROOM})
    minutes.add(T0 + 40, {ROOM: (8.0, 4)}, {}, {}, partial={ROOM})
    assert minutes.add(T0 + 60, {ROOM: (7.0, 4)}, {}, {}, partial={ROOM}) == [
        MinuteRow(ROOM, int(T0), 5.0, 1, 8.0, 5.0, 0.0, 0.0, 1)
    ]
    assert minutes.take() == [MinuteRow(ROOM, int(T0) + 60, 0.0, 0, 7.0, None, 0.0, 0.0, 0)]


def test_a_minute_written_in_two_parts_adds_up(tmp_path: Path) -> None:
    storage = Storage.open(tmp_path / "api.sqlite3")
    with storage.transaction():
        storage.save_readings([MinuteRow(WAITING, int(T0), 9.0, 2, 6.0, 3.0, 2.0, 1.0, None)])
    with storage.transaction():
        storage.save_readings([MinuteRow(WAITING, int(T0), 4.0, 1, 4.0, 4.0, 1.0, 0.0, 1)])
        storage.save_readings([MinuteRow(WAITING, int(T0), 0.0, 0, None, None, 0.0, 3.0, None)])
    storage.close()
    assert stored(tmp_path / "api.sqlite3") == [
        ("north", "entrance", "waiting", int(T0), 13.0, 3, 6.0, 3.0, 4.0, 1, 3.0)
    ]


def test_minutes_stored_before_the_first_read_was_kept_give_their_mean(tmp_path: Path) -> None:
    """A database from before the first read was kept (schema 4) opens with the column added: its
    minutes give the mean where the service rate asks how each began; new minutes their first read."""
    path = tmp_path / "api.sqlite3"
    Storage.open(path).close()
    db = sqlite3.connect(path)
    with db:
        db.execute("ALTER TABLE readings DROP COLUMN occupancy_first")
        db.execute("PRAGMA user_version = 4")
        db.execute(
            "INSERT INTO readings (site, camera, zone, minute, occupancy_sum, samples, occupancy_peak, "
            "entries, exits, at_raise) VALUES (?, ?, ?, ?, 9.0, 2, 6.0, 2.0, 1.0, NULL)",
            (*WAITING, int(T0)),
        )
    db.close()
    storage = Storage.open(path)
    assert storage.schema_version == 5
    with storage.transaction():
        storage.save_readings([MinuteRow(WAITING, int(T0) + 60, 9.0, 2, 6.0, 3.0, 2.0, 1.0, None)])
    assert storage.minutes(WAITING, T0, T0 + 120) == [(int(T0), 4.5, 1.0), (int(T0) + 60, 3.0, 1.0)]
    storage.close()


class Reads:
    """The occupancy input at the edge of the unit (its snapshots are applied by the test)."""

    async def read(self) -> Snapshot:
        return Snapshot(0.0)

    async def aclose(self) -> None:
        pass


def snapshot(at: float, people: float, entries: float, exits: float) -> Snapshot:
    return Snapshot(
        at,
        {WAITING: Reading(people, at)},
        reported={WAITING: "waiting"},
        complete=True,
        entries_total={WAITING: entries},
        exits_total={WAITING: exits},
    )


def test_the_service_stores_its_minutes_and_the_minute_so_far_on_stop(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    clock = FakeClock(T0)
    service = Runtime.open(settings, ApiMetrics(CollectorRegistry()), clock, Reads())
    service.set_rule(WAITING, RuleSpec(raise_level=5, clear_level=2))
    for offset, people, entries, exits in ((0, 4, 10, 3), (20, 6, 12, 3), (40, 5, 12, 4), (60, 2, 13, 6)):
        service.apply(snapshot(clock.t + offset, people, entries, exits))
    assert stored(settings.database) == [
        ("north", "entrance", "waiting", int(T0), 15.0, 3, 6.0, 2.0, 1.0, 2, 4.0)
    ]
    asyncio.run(service.stop())
    assert stored(settings.database)[1] == (
        "north",
        "entrance",
        "waiting",
        int(T0) + 60,
        2.0,
        1,
        2.0,
        1.0,
        2.0,
        0,
        2.0,
    )


def test_the_service_stores_a_partial_room_for_the_peak_only(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    clock = FakeClock(T0)
    service = Runtime.open(settings, ApiMetrics(CollectorRegistry()), clock, Reads())
    for offset, people, partial in ((0, 4.0, False), (20, 9.0, True), (60, 1.0, False)):
        at = clock.t + offset
        service.apply(
            Snapshot(at, {ROOM: Reading(people, at, partial)}, reported={ROOM: "Halle"}, complete=True)
        )
    assert stored(settings.database) == [(*ROOM, int(T0), 4.0, 1, 9.0, 0.0, 0.0, None, 4.0)]
    asyncio.run(service.stop())


def test_where_prometheus_is_read_nothing_is_stored(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(input={"type": "prometheus", "url": "http://127.0.0.1:9"})
    service = Runtime.open(settings, ApiMetrics(CollectorRegistry()), FakeClock(T0))
    for offset in (0, 60, 120):
        service.apply(snapshot(T0 + offset, 4, 10 + offset, 3))
    asyncio.run(service.stop())
    assert stored(settings.database) == []


def minutes_at(*days_ago: float, now: float) -> list[MinuteRow]:
    return [
        MinuteRow(WAITING, int(now - d * DAY) // 60 * 60, 1.0, 1, 1.0, 1.0, 0.0, 0.0, None) for d in days_ago
    ]


@pytest.mark.parametrize(
    ("retention", "kept_at_start", "kept_two_days_later"),
    [
        ({}, [89.5, 10], [10]),  # the default: 90 days
        ({"retention_days": 30}, [10], [10]),
        ({"retention_days": 11}, [10], []),
    ],
)
def test_readings_are_deleted_after_the_retention(
    make_settings: Callable[..., Settings],
    retention: dict[str, int],
    kept_at_start: list[float],
    kept_two_days_later: list[float],
) -> None:
    settings = make_settings(readings=retention)
    now = T0 + 0.5 * DAY
    storage = Storage.open(settings.database)
    with storage.transaction():
        storage.save_readings(minutes_at(400, 90.5, 89.5, 10, now=now))
    storage.close()

    clock = FakeClock(now)
    service = Runtime.open(settings, ApiMetrics(CollectorRegistry()), clock, Reads())
    try:
        assert [r[3] for r in stored(settings.database)] == [
            r.minute for r in minutes_at(*kept_at_start, now=now)
        ]
        clock.advance(2 * DAY)  # the service runs on: within the hour the next old minutes go
        service.apply(Snapshot(clock.now()))
        expected = [r.minute for r in minutes_at(*kept_two_days_later, now=now)]
        assert [r[3] for r in stored(settings.database)] == expected
    finally:
        asyncio.run(service.stop())


@pytest.mark.parametrize("days", [0, 3651, "ninety"])
def test_a_retention_that_cannot_be_is_refused(make_settings: Callable[..., Settings], days: object) -> None:
    with pytest.raises(SettingsError) as raised:
        make_settings(readings={"retention_days": days})
    [(path, _)] = raised.value.problems
    assert path == "readings.retention_days"
