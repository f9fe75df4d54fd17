"""The alert state machine, driven by tables of readings with explicit times (no wall clock)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api_support import FakeClock

from api.domain import Reading, Role, Snapshot, State, Unknown, Why, ZoneKey
from api.engine import NO_SERIES, Alert, AlertEngine, EndReason, NothingToAcknowledge, Notice
from api.rules import OpeningHours, RuleSpec
from api.schemas import ZoneOut

BERLIN = ZoneInfo("Europe/Berlin")
KEY = ZoneKey("north", "entrance", "waiting")
# Monday 24 November 2025, 10:00 in Berlin: inside the opening hours used below.
T0 = datetime(2025, 11, 24, 10, 0, tzinfo=BERLIN).timestamp()
RULE = {"raise_level": 5, "clear_level": 2, "min_above_s": 10, "min_below_s": 20, "cooldown_s": 60}
ACK = "ack"
CAMERA_DOWN = Why(Unknown.CAMERA_DOWN, "camera down")


class AtLeast(float):
    """A partial count in a table: a room with a camera down or late, at least this many."""


Step = tuple[float, float | str | None]  # (seconds after T0, occupancy | AtLeast | None (unknown) | "ack")


def book(rule: dict[str, Any] | None = RULE) -> dict[ZoneKey, RuleSpec]:
    """A rule book for the engine: KEY's rule, or none."""
    return {} if rule is None else {KEY: RuleSpec.model_validate(rule)}


def drive(
    steps: list[Step], rule: dict[str, Any] | None = RULE, engine: AlertEngine | None = None
) -> tuple[list[str], list[tuple[str, float, float | None]], AlertEngine]:
    """States after each step, and (notice type, at, since) relative to T0."""
    clock = FakeClock(T0)
    if engine is None:
        engine = AlertEngine(BERLIN, clock, rules=book(rule).copy)
    engine.clock = clock
    states: list[str] = []
    notices: list[Notice] = []
    for dt, value in steps:
        clock.t = T0 + dt
        if value == ACK:
            notices.append(engine.acknowledge(KEY, Role.DESK))
        elif value is None or isinstance(value, float | int):
            zones = {} if value is None else {KEY: Reading(float(value), T0 + dt, isinstance(value, AtLeast))}
            notices.extend(engine.observe(Snapshot(T0 + dt, zones, {(KEY.site, KEY.camera): CAMERA_DOWN})))
        view = engine.zone(KEY)
        states.append(view.state.value if view is not None else "-")
    told = [
        (n.type.value, round(n.at - T0, 3), None if n.since is None else round(n.since - T0, 3))
        for n in notices
    ]
    return states, told, engine


CASES: list[tuple[str, dict[str, Any], list[Step], str, list[tuple[str, float, float | None]]]] = [
    ("empty: nothing read, nothing told", RULE, [], "", []),
    ("below the raise level stays ok", RULE, [(0, 3), (30, 4), (60, 0)], "ok ok ok", []),
    (
        "fires after min_above_s at or above the raise level",
        RULE,
        [(0, 5), (5, 6), (9.9, 7), (10, 6)],
        "pending pending pending firing",
        [("alert.fired", 10, 0)],
    ),
    (
        "a dip below the raise level restarts the run",
        RULE,
        [(0, 5), (5, 4), (12, 5), (21, 5), (22, 5)],
        "pending ok pending pending firing",
        [("alert.fired", 22, 12)],
    ),
    (
        "hysteresis: between clear and raise level it keeps firing",
        RULE,
        [(0, 6), (10, 6), (20, 3), (100, 4), (200, 3)],
        "pending firing firing firing firing",
        [("alert.fired", 10, 0)],
    ),
    (
        "resolves after min_below_s at or below the clear level",
        RULE,
        [(0, 6), (10, 6), (20, 2), (30, 1), (39.9, 2), (40, 2)],
        "pending firing firing firing firing resolved",
        [("alert.fired", 10, 0), ("alert.resolved", 40, 20)],
    ),
    (
        "going above the clear level restarts the run below",
        RULE,
        [(0, 6), (10, 6), (20, 2), (30, 3), (35, 2), (54, 2), (55, 0)],
        "pending firing firing firing firing firing resolved",
        [("alert.fired", 10, 0), ("alert.resolved", 55, 35)],
    ),
    (
        "cooldown: no new alert until it ends, then at once if still crowded",
        RULE,
        [(0, 6), (10, 6), (20, 2), (40, 2), (50, 6), (99, 6), (100, 6)],
        "pending firing firing resolved resolved resolved firing",
        [("alert.fired", 10, 0), ("alert.resolved", 40, 20), ("alert.fired", 100, 50)],
    ),
    (
        "after the cooldown a quiet zone is ok",
        RULE,
        [(0, 6), (10, 6), (20, 2), (40, 2), (100, 3)],
        "pending firing firing resolved ok",
        [("alert.fired", 10, 0), ("alert.resolved", 40, 20)],
    ),
    (
        "zero durations: fire and resolve on one reading each",
        {**RULE, "min_above_s": 0, "min_below_s": 0, "cooldown_s": 0},
        [(0, 5), (1, 2), (2, 5)],
        "firing resolved firing",
        [("alert.fired", 0, 0), ("alert.resolved", 1, 1), ("alert.fired", 2, 2)],
    ),
    (
        "unknown keeps the alert open and is told; back above it fires no second time",
        RULE,
        [(0, 6), (10, 6), (15, None), (16, 6), (26, 6)],
        "pending firing unknown firing firing",
        [("alert.fired", 10, 0), ("zone.unknown", 15, None), ("zone.known", 16, None)],
    ),
    (
        "unknown is never all clear: the run below starts again after it",
        RULE,
        [(0, 6), (10, 6), (20, 1), (30, None), (31, 1), (50, 1), (51, 1)],
        "pending firing firing unknown firing firing resolved",
        [
            ("alert.fired", 10, 0),
            ("zone.unknown", 30, None),
            ("zone.known", 31, None),
            ("alert.resolved", 51, 31),
        ],
    ),
    (
        "unknown restarts the run above",
        RULE,
        [(0, 6), (5, None), (6, 6), (15, 6), (16, 6)],
        "pending unknown pending pending firing",
        [("zone.unknown", 5, None), ("zone.known", 6, None), ("alert.fired", 16, 6)],
    ),
    ("unknown before the first reading is not told", RULE, [(0, None), (1, 3)], "unknown ok", []),
    (
        "acknowledge: the alert stays open until it resolves",
        RULE,
        [(0, 6), (10, 6), (12, ACK), (20, 7), (30, 2), (50, 2)],
        "pending firing acknowledged acknowledged acknowledged resolved",
        [("alert.fired", 10, 0), ("alert.acknowledged", 12, 10), ("alert.resolved", 50, 30)],
    ),
    (
        "acknowledged while unknown: back, it is acknowledged, not firing",
        RULE,
        [(0, 6), (10, 6), (11, None), (12, ACK), (13, 6)],
        "pending firing unknown unknown acknowledged",
        [
            ("alert.fired", 10, 0),
            ("zone.unknown", 11, None),
            ("alert.acknowledged", 12, 10),
            ("zone.known", 13, None),
        ],
    ),
]


@pytest.mark.parametrize(
    ("rule", "steps", "states", "told"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_state_machine(
    rule: dict[str, Any], steps: list[Step], states: str, told: list[tuple[str, float, float | None]]
) -> None:
    got_states, got_told, _ = drive(steps, rule)
    assert " ".join(got_states) == states
    assert got_told == told


PARTIAL_CASES: list[tuple[str, list[Step], str, list[tuple[str, float, float | None]]]] = [
    ("empty", [], "", []),
    (
        "a partial count at the raise level fires: the room holds at least that many",
        [(0, AtLeast(5)), (10, AtLeast(6))],
        "pending firing",
        [("alert.fired", 10, 0)],
    ),
    (
        "a partial count below the raise level neither ends the run above nor fires",
        [(0, 6), (5, AtLeast(1)), (10, AtLeast(4)), (11, 6)],
        "pending pending pending firing",
        [("alert.fired", 11, 0)],
    ),
    (
        "a partial count at or below the clear level never resolves",
        [(0, 6), (10, 6), (20, AtLeast(0)), (60, AtLeast(1)), (100, AtLeast(2))],
        "pending firing firing firing firing",
        [("alert.fired", 10, 0)],
    ),
    (
        "the run below starts with the first full count after partial ones",
        [(0, 6), (10, 6), (20, 2), (30, AtLeast(1)), (31, 1), (50, 1), (51, 2)],
        "pending firing firing firing firing firing resolved",
        [("alert.fired", 10, 0), ("alert.resolved", 51, 31)],
    ),
    ("partial and quiet without a run: ok", [(0, AtLeast(1)), (30, AtLeast(3))], "ok ok", []),
]


@pytest.mark.parametrize(
    ("steps", "states", "told"), [c[1:] for c in PARTIAL_CASES], ids=[c[0] for c in PARTIAL_CASES]
)
def test_a_partial_count_may_fire_and_never_resolves(
    steps: list[Step], states: str, told: list[tuple[str, float, float | None]]
) -> None:
    got_states, got_told, engine = drive(steps)
    assert " ".join(got_states) == states
    assert got_told == told
    view = engine.zone(KEY)
    assert view is not None and view.partial is bool(steps and isinstance(steps[-1][1], AtLeast))


def test_a_zone_without_rule_is_ok_or_unknown_and_never_fires() -> None:
    states, told, _ = drive([(0, 50), (100, 50), (101, None), (102, 0)], rule=None)
    assert states == ["ok", "ok", "unknown", "ok"]
    assert [t[0] for t in told] == ["zone.unknown", "zone.known"]


def test_a_zone_with_rule_never_read_is_unknown_with_reason() -> None:
    engine = AlertEngine(BERLIN, FakeClock(T0), rules=book().copy)
    assert engine.observe(Snapshot(T0)) == []
    view = engine.zone(KEY)
    assert view is not None
    assert (view.state, view.occupancy, view.why) == (State.UNKNOWN, None, NO_SERIES)


def test_camera_down_names_the_reason_and_keeps_no_count() -> None:
    _, _, engine = drive([(0, 3), (1, None)])
    view = engine.zone(KEY)
    assert view is not None
    assert (view.state, view.occupancy, view.why) == (State.UNKNOWN, None, CAMERA_DOWN)


def test_peak_and_times_of_the_alert() -> None:
    _, _, engine = drive([(0, 5), (4, 9), (10, 6), (15, 11), (20, 2)])
    alerts = {a.id: a for a in engine.take_changed_alerts()}
    alert = alerts[1]
    assert (alert.started_at - T0, alert.fired_at - T0, alert.peak_occupancy) == (0, 10, 11)
    assert alert.ended_at is None and alert.raise_level == 5


@pytest.mark.parametrize(
    ("steps", "why"),
    [
        ([], "has no open alert"),
        ([(0, 3)], "has no open alert"),
        ([(0, 6), (5, 6)], "has no open alert"),  # pending is not an alert yet
        ([(0, 6), (10, 6), (11, ACK)], "already acknowledged"),
        ([(0, 6), (10, 6), (20, 2), (40, 2)], "has no open alert"),  # resolved
    ],
    ids=["empty", "ok", "pending", "twice", "resolved"],
)
def test_nothing_to_acknowledge(steps: list[Step], why: str) -> None:
    _, _, engine = drive(steps)
    with pytest.raises(NothingToAcknowledge, match=why):
        engine.acknowledge(KEY, Role.DESK)


def test_acknowledge_records_role_and_time() -> None:
    _, _, engine = drive([(0, 6), (10, 6)])
    engine.clock = FakeClock(T0 + 42)
    notice = engine.acknowledge(KEY, Role.LEAD)
    assert notice.alert is not None
    assert (notice.alert.acknowledged_by, notice.alert.acknowledged_at) == (Role.LEAD, T0 + 42)


def test_removing_the_rule_ends_the_open_alert() -> None:
    rules = book()
    _, _, engine = drive([(0, 6), (10, 6)], engine=AlertEngine(BERLIN, FakeClock(T0), rules=rules.copy))
    engine.clock = FakeClock(T0 + 30)
    del rules[KEY]
    [notice] = engine.rule_removed(KEY)
    assert (notice.type.value, notice.state, notice.reason) == ("alert.resolved", State.OK, "rule_removed")
    assert notice.alert is not None and notice.alert.end_reason is EndReason.RULE_REMOVED
    assert notice.rule is None


def test_the_engine_keeps_no_rules_of_its_own() -> None:
    """It reads the rule book at every reading: a rule set there applies from the next one."""
    rules: dict[ZoneKey, RuleSpec] = {}
    engine = AlertEngine(BERLIN, FakeClock(T0), rules=rules.copy)
    assert engine.zones() == []
    rules[KEY] = RuleSpec.model_validate(RULE)
    engine.rule_set(KEY)
    view = engine.zone(KEY)
    assert view is not None and view.rule == rules[KEY] and view.state is State.UNKNOWN
    states, _, _ = drive([(0, 6)], engine=engine)
    assert states == ["pending"]
    rules[KEY] = RuleSpec.model_validate({**RULE, "raise_level": 7})
    states, _, _ = drive([(1, 6)], engine=engine)
    assert states == ["ok"]
    view = engine.zone(KEY)
    assert view is not None and view.rule is not None and view.rule.raise_level == 7


def test_restart_continues_the_stored_alert_without_firing_again() -> None:
    stored = Alert(7, KEY, 5, T0 - 100, T0 - 90, 8.0, acknowledged_at=T0 - 80, acknowledged_by=Role.DESK)
    engine = AlertEngine(BERLIN, FakeClock(T0), book().copy, [stored], {}, 8)
    states, told, engine = drive([(0, None), (1, 6), (2, 1), (22, 1)], engine=engine)
    assert states == ["unknown", "acknowledged", "acknowledged", "resolved"]
    assert told == [("alert.resolved", 22, 2)]
    assert engine.take_changed_alerts()[-1].id == 7


def test_cooldown_survives_a_restart() -> None:
    engine = AlertEngine(BERLIN, FakeClock(T0), book().copy, [], {KEY: T0 - 10}, 1)
    states, told, _ = drive([(0, 6), (10, 6), (49, 6), (50, 6)], engine=engine)
    assert states == ["resolved", "resolved", "resolved", "firing"]
    assert told == [("alert.fired", 50, 0)]


def test_a_reading_older_than_the_last_does_not_turn_time_back() -> None:
    _, _, engine = drive([(0, 6)])
    notices = engine.observe(Snapshot(T0 + 11, {KEY: Reading(6, T0 - 50)}))
    view = engine.zone(KEY)
    assert notices == [] and view is not None and view.state is State.PENDING


# -- opening hours ---------------------------------------------------------------------------

HOURS = OpeningHours.model_validate(
    {
        "monday": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "16:00"}],
        "wednesday": [{"start": "08:00", "end": "24:00"}],
        "closed_dates": ["2025-12-24"],
    }
)
# An end at or before the start is on the next day; the interval belongs to the day it starts on.
NIGHT = OpeningHours.model_validate(
    {
        "friday": [{"start": "22:00", "end": "06:00"}],
        "sunday": [{"start": "08:00", "end": "08:00"}],  # 24 hours from 08:00
        "tuesday": [{"start": "00:00", "end": "00:00"}],  # the whole day
        "closed_dates": ["2025-12-05"],  # a Friday
    }
)


@pytest.mark.parametrize(
    ("hours", "local", "is_open"),
    [
        (None, "2025-11-29 03:00", True),  # no opening hours: always open
        (OpeningHours(), "2025-11-24 10:00", False),  # empty: never open
        (HOURS, "2025-11-24 07:59", False),
        (HOURS, "2025-11-24 08:00", True),
        (HOURS, "2025-11-24 11:59", True),
        (HOURS, "2025-11-24 12:00", False),  # lunch break
        (HOURS, "2025-11-24 13:00", True),
        (HOURS, "2025-11-24 15:59", True),
        (HOURS, "2025-11-24 16:00", False),
        (HOURS, "2025-11-25 10:00", False),  # Tuesday: not listed, closed
        (HOURS, "2025-11-26 23:59", True),  # Wednesday until 24:00
        (HOURS, "2025-11-29 10:00", False),  # Saturday
        (HOURS, "2025-12-24 10:00", False),  # a Wednesday, but a closed date
        (HOURS, "2025-12-17 10:00", True),  # the Wednesday before
        (HOURS, "2025-03-31 08:30", True),  # Monday after the clocks changed
        (NIGHT, "2025-11-28 03:00", False),  # Friday before dawn: Thursday has no night
        (NIGHT, "2025-11-28 21:59", False),
        (NIGHT, "2025-11-28 22:00", True),
        (NIGHT, "2025-11-29 00:00", True),  # Saturday: Friday's night goes on
        (NIGHT, "2025-11-29 05:59", True),
        (NIGHT, "2025-11-29 06:00", False),
        (NIGHT, "2025-11-30 07:59", False),
        (NIGHT, "2025-11-30 08:00", True),
        (NIGHT, "2025-12-01 07:59", True),  # Monday: Sunday's 24 hours
        (NIGHT, "2025-12-01 08:00", False),
        (NIGHT, "2025-12-02 00:00", True),
        (NIGHT, "2025-12-02 23:59", True),
        (NIGHT, "2025-12-03 00:00", False),  # Tuesday's day is over
        (NIGHT, "2025-12-05 23:00", False),  # a closed Friday
        (NIGHT, "2025-12-06 01:00", False),  # ... closes its night too
    ],
)
def test_opening_hours(hours: OpeningHours | None, local: str, is_open: bool) -> None:
    at = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=BERLIN).timestamp()
    rule = RuleSpec.model_validate({**RULE, "opening_hours": hours})
    assert rule.is_open(at, BERLIN) is is_open


def _at(local: str) -> float:
    return datetime.strptime(local, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BERLIN).timestamp() - T0


@pytest.mark.parametrize(
    ("steps", "states", "told"),
    [
        # Saturday: closed, however full
        ([(_at("2025-11-29 10:00:00"), 50), (_at("2025-11-29 11:00:00"), 50)], "ok ok", []),
        # crowded from 11:55; at 12:00 the office closes before min_above_s (10 min) is reached
        ([(_at("2025-11-24 11:55:00"), 6), (_at("2025-11-24 12:00:00"), 6)], "pending ok", []),
        # crowded from before opening: the run starts at opening time
        (
            [
                (_at("2025-11-24 07:55:00"), 6),
                (_at("2025-11-24 08:00:00"), 6),
                (_at("2025-11-24 08:10:00"), 6),
            ],
            "ok pending firing",
            [("alert.fired", _at("2025-11-24 08:10:00"), _at("2025-11-24 08:00:00"))],
        ),
        # an open alert ends at closing time
        (
            [
                (_at("2025-11-24 11:30:00"), 6),
                (_at("2025-11-24 11:40:00"), 6),
                (_at("2025-11-24 12:00:00"), 6),
            ],
            "pending firing ok",
            [
                ("alert.fired", _at("2025-11-24 11:40:00"), _at("2025-11-24 11:30:00")),
                ("alert.resolved", _at("2025-11-24 12:00:00"), None),
            ],
        ),
    ],
    ids=["closed day", "closes before min duration", "run starts at opening", "alert ends at closing"],
)
def test_no_alerts_outside_opening_hours(
    steps: list[Step], states: str, told: list[tuple[str, float, float | None]]
) -> None:
    rule = {**RULE, "min_above_s": 600, "opening_hours": HOURS}
    got_states, got_told, _ = drive(steps, rule)
    assert " ".join(got_states) == states
    assert got_told == [
        (kind, round(at, 3), since if since is None else round(since, 3)) for kind, at, since in told
    ]


# --- the early warning: the service tells the engine each minute what the forecast says -----------

QUIET = "quiet"  # no forecast this step: only a reading
Ahead = tuple[float, float, float | str | None]  # (seconds after T0, occupancy, warning_s | None | QUIET)
CLOSES_1030 = {"monday": [{"start": "08:00", "end": "10:30"}]}  # T0 is Monday 10:00


def foresee_drive(steps: list[Ahead], rule: dict[str, Any] = RULE) -> tuple[str, list[tuple[str, float]]]:
    clock = FakeClock(T0)
    engine = AlertEngine(BERLIN, clock, rules=book(rule).copy)
    states, notices = [], []
    for dt, people, warning in steps:
        clock.t = T0 + dt
        notices += engine.observe(Snapshot(T0 + dt, {KEY: Reading(people, T0 + dt)}))
        if warning != QUIET:
            assert not isinstance(warning, str)
            notices += engine.foresee(KEY, warning, T0 + dt)
        view = engine.zone(KEY)
        assert view is not None
        states.append(view.state.value)
    return " ".join(states), [(n.type.value, round(n.at - T0, 3)) for n in notices]


WARNING_CASES: list[tuple[str, dict[str, Any], list[Ahead], str, list[tuple[str, float]]]] = [
    ("empty", RULE, [], "", []),
    ("no forecast: ok", RULE, [(0, 2, QUIET), (60, 3, None)], "ok ok", []),
    (
        "the forecast reaches the raise level: warning, told once",
        RULE,
        [(0, 2, None), (60, 3, 900.0), (120, 3, 600.0)],
        "ok warning warning",
        [("zone.filling_up", 60)],
    ),
    (
        "held 10 minutes after the last minute that warned, then ok",
        RULE,
        [(0, 2, 900.0), (300, 2, None), (599, 2, None), (600, 2, None)],
        "warning warning warning ok",
        [("zone.filling_up", 0)],
    ),
    (
        "ended by the alert: over the raise level pending, then firing",
        RULE,
        [(0, 3, 600.0), (60, 5, 0.0), (70, 6, 0.0), (80, 4, None)],
        "warning pending firing firing",
        [("zone.filling_up", 0), ("alert.fired", 70)],
    ),
    (
        "back under the raise level before firing: the warning goes on, not told again",
        RULE,
        [(0, 3, 600.0), (60, 5, 0.0), (65, 4, None)],
        "warning pending warning",
        [("zone.filling_up", 0)],
    ),
    (
        "after an alert's cooldown the next warning is told again",
        RULE,
        [(0, 3, 600.0), (60, 6, 0.0), (70, 6, None), (80, 1, None), (100, 1, None), (200, 1, 600.0)],
        "warning pending firing firing resolved warning",
        [("zone.filling_up", 0), ("alert.fired", 70), ("alert.resolved", 100), ("zone.filling_up", 200)],
    ),
    (
        "silent when closed, and closing ends a warning",
        {**RULE, "opening_hours": CLOSES_1030},
        [(0, 2, 600.0), (1800, 2, None), (1801, 2, 600.0), (1860, 2, None)],
        "warning ok ok ok",
        [("zone.filling_up", 0)],
    ),
]


@pytest.mark.parametrize(
    ("name", "rule", "steps", "states", "told"), WARNING_CASES, ids=[c[0] for c in WARNING_CASES]
)
def test_early_warning_states(
    name: str, rule: dict[str, Any], steps: list[Ahead], states: str, told: list[tuple[str, float]]
) -> None:
    assert foresee_drive(steps, rule) == (states, told)


def test_a_zone_without_rule_is_never_warned() -> None:
    engine = AlertEngine(BERLIN, FakeClock(T0), rules=dict)
    engine.observe(Snapshot(T0, {KEY: Reading(2, T0)}))
    assert engine.foresee(KEY, 300.0, T0) == []
    view = engine.zone(KEY)
    assert view is not None and view.state is State.OK


def test_an_ending_alert_says_when_it_ends() -> None:
    """At or below the clear level the open alert ends min_below_s later (ZoneOut.clear_at); a count
    back above the clear level withdraws that time, and a resolved zone has none."""

    def clear_at(steps: list[Step]) -> float | None:
        _, _, engine = drive(steps)
        view = engine.zone(KEY)
        assert view is not None
        out = ZoneOut.of(view, None)
        return None if out.clear_at is None else out.clear_at.timestamp() - T0

    fired: list[Step] = [(0, 6), (10, 6)]
    assert clear_at(fired) is None
    assert clear_at([*fired, (12, 2), (15, 1)]) == 32  # fell at 12, min_below_s 20
    assert clear_at([*fired, (12, 2), (15, 4)]) is None
    assert clear_at([*fired, (12, 2), (15, 4), (18, 2)]) == 38
    assert clear_at([*fired, (12, 2), (32, 2)]) is None  # resolved
