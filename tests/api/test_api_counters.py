"""Counters open per zone: what is open when (pure), the routes (desk sets the number, lead the
schedule), the history in SQLite and the metric."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api_support import DESK_HEADERS, LEAD_HEADERS, FakeClock
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.counters import CounterSchedule, CounterSetting, counters_open, next_change
from api.domain import Role
from api.settings import Settings
from tests.support import wait_for

BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str) -> float:
    """A local time in Berlin, e.g. "2025-11-24 10:00" (a Monday)."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=BERLIN).timestamp()


WEEK = CounterSchedule.model_validate(
    {
        "monday": [
            {"start": "08:00", "end": "12:00", "counters": 3},
            {"start": "12:00", "end": "16:00", "counters": 2},
        ],
        "friday": [{"start": "22:00", "end": "02:00", "counters": 1}],
    }
)


def number(when: str, n: int, by: Role = Role.DESK) -> CounterSetting:
    return CounterSetting(at(when), by, counters=n)


def plan(when: str, schedule: CounterSchedule = WEEK) -> CounterSetting:
    return CounterSetting(at(when), Role.LEAD, schedule=schedule)


CASES: list[tuple[str, list[CounterSetting], str, int | None]] = [
    ("nothing set: unknown", [], "2025-11-24 10:00", None),
    ("a number alone holds", [number("2025-11-20 09:00", 4)], "2025-11-24 10:00", 4),
    ("a number set later is not yet in force", [number("2025-11-24 11:00", 4)], "2025-11-24 10:00", None),
    ("the schedule's range", [plan("2025-11-01 00:00")], "2025-11-24 10:00", 3),
    ("the schedule's next range", [plan("2025-11-01 00:00")], "2025-11-24 12:00", 2),
    ("outside every range: none open", [plan("2025-11-01 00:00")], "2025-11-24 17:00", 0),
    ("an overnight range runs into the next day", [plan("2025-11-01 00:00")], "2025-11-29 01:30", 1),
    (
        "the desk's number holds until the schedule's next change",
        [plan("2025-11-01 00:00"), number("2025-11-24 10:00", 5)],
        "2025-11-24 11:59",
        5,
    ),
    (
        "... and then the schedule applies again",
        [plan("2025-11-01 00:00"), number("2025-11-24 10:00", 5)],
        "2025-11-24 12:00",
        2,
    ),
    (
        "a schedule saved after a number replaces it at once",
        [number("2025-11-24 09:00", 5), plan("2025-11-24 09:30")],
        "2025-11-24 10:00",
        3,
    ),
]


@pytest.mark.parametrize(("name", "settings", "when", "expected"), CASES, ids=[c[0] for c in CASES])
def test_counters_open(name: str, settings: list[CounterSetting], when: str, expected: int | None) -> None:
    assert counters_open(settings, at(when), BERLIN) == expected


@pytest.mark.parametrize(
    ("settings", "when", "expected"),
    [
        ([], "2025-11-24 10:00", None),
        ([number("2025-11-20 09:00", 4)], "2025-11-24 10:00", None),
        ([plan("2025-11-01 00:00")], "2025-11-24 10:00", "2025-11-24 12:00"),
        ([plan("2025-11-01 00:00")], "2025-11-24 17:00", "2025-11-28 22:00"),
    ],
)
def test_a_number_holds_until_the_next_change(
    settings: list[CounterSetting], when: str, expected: str | None
) -> None:
    assert next_change(settings, at(when), BERLIN) == (None if expected is None else at(expected))


def test_a_setting_is_a_number_or_a_schedule() -> None:
    with pytest.raises(ValueError, match="either a number or a schedule"):
        CounterSetting(0.0, Role.LEAD)


ZONE = "/api/v1/zones/north/entrance/waiting/counters"


@pytest.fixture
def client(make_settings: Callable[..., Settings], fake_edge: Any) -> Any:
    fake_edge.set({("entrance", "waiting"): 2})
    settings = make_settings(input={"targets": [fake_edge.url], "interval_s": 0.2})
    clock = FakeClock(at("2025-11-24 10:00"))
    with TestClient(create_app(settings, clock=clock)) as test_client:
        wait_for(lambda: test_client.get(ZONE, headers=DESK_HEADERS).status_code == 200, 10, "a first read")
        test_client.clock = clock  # type: ignore[attr-defined]
        yield test_client


def test_desk_sets_the_number_lead_the_schedule_and_both_are_kept(client: Any) -> None:
    empty = client.get(ZONE, headers=DESK_HEADERS).json()
    assert (empty["counters_open"], empty["last_set"], empty["schedule"]) == (None, None, None)
    assert client.get(ZONE + "/history", headers=DESK_HEADERS).json() == []
    schedule = {"monday": [{"start": "08:00", "end": "12:00", "counters": 3}]}
    assert client.put(ZONE + "/schedule", json=schedule, headers=DESK_HEADERS).status_code == 403
    planned = client.put(ZONE + "/schedule", json=schedule, headers=LEAD_HEADERS).json()
    assert (planned["counters_open"], planned["holds_until"]) == (3, "2025-11-24T11:00:00Z")
    client.clock.advance(60)
    set_now = client.put(ZONE, json={"counters": 4}, headers=DESK_HEADERS).json()
    assert set_now["counters_open"] == 4 and set_now["last_set"]["set_by"] == "desk"
    assert set_now["schedule"]["schedule"]["monday"][0]["counters"] == 3
    zone = client.get("/api/v1/zones/north/entrance/waiting", headers=DESK_HEADERS).json()
    assert zone["counters_open"] == 4
    metrics = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    assert [s.value for s in metrics["wartezone_counters_open"].samples] == [4]
    client.clock.advance(7200)  # 12:01: the schedule's range has ended: its change ends the number
    assert client.get(ZONE, headers=DESK_HEADERS).json()["counters_open"] == 0
    history = client.get(ZONE + "/history", headers=DESK_HEADERS).json()
    assert [(h["set_by"], h["counters"], h["schedule"] is not None) for h in history] == [
        ("desk", 4, False),
        ("lead", None, True),
    ]
    assert len(client.get(ZONE + "/history?limit=1", headers=DESK_HEADERS).json()) == 1


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        (ZONE, {"counters": -1}, 422, "greater than or equal to 0"),
        (ZONE, {"counters": "3"}, 422, "must be a number"),
        (ZONE, {}, 422, "Field required"),
        (ZONE, {"counters": 2, "extra": 1}, 422, "Extra inputs"),
        (ZONE.replace("waiting", "nowhere"), {"counters": 2}, 404, "no zone north/entrance/nowhere"),
        (ZONE + "/schedule", {"mondy": []}, 422, "Extra inputs"),
        (ZONE + "/schedule", {"monday": [{"start": "08:00", "end": "09:00"}]}, 422, "Field required"),
    ],
)
def test_bad_input_is_refused_naming_the_problem(
    client: Any, path: str, body: dict[str, Any], status: int, says: str
) -> None:
    answer = client.put(path, json=body, headers=LEAD_HEADERS)
    assert answer.status_code == status and says in answer.text
