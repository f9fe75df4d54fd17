"""Counters (Schalter) open per waiting zone: the number reception sets now, and the branch lead's
weekly schedule as the default. Pure: the storage keeps the settings with their times, this module
says how many counters were open at a moment.

What the desk (or the lead) sets now holds until the schedule's next change (the start or end of
one of its ranges) or until a new schedule is saved; from then the schedule's number applies
again. Outside every range of the schedule no counter is open. A zone with neither is unknown
(None): no service rate, no counters advice, never a guessed number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field

from api.domain import Role, Strict
from api.rules import WEEKDAYS, Count, Interval
from wartezone_contract import MAX_COUNTERS


class CounterRange(Interval):
    """From start to end (local time; an end at or before the start is on the next day) this many
    counters are open."""

    counters: Count = Field(ge=0, le=MAX_COUNTERS, description="Counters open in this range.")


DayRanges = Annotated[
    list[CounterRange],
    Field(max_length=24, description="That day's ranges with their counters; none: no counter open."),
]


class CounterSchedule(Strict):
    """The lead's week: per weekday, time ranges with the counters open in each (the default that a
    number set at reception overrides until the schedule's next change)."""

    monday: DayRanges = Field(default_factory=list)
    tuesday: DayRanges = Field(default_factory=list)
    wednesday: DayRanges = Field(default_factory=list)
    thursday: DayRanges = Field(default_factory=list)
    friday: DayRanges = Field(default_factory=list)
    saturday: DayRanges = Field(default_factory=list)
    sunday: DayRanges = Field(default_factory=list)

    def spans(self, day: date, tz: ZoneInfo) -> list[tuple[float, float, int]]:
        """(start, end, counters) in Unix seconds of the ranges that start on this day."""
        out = []
        for r in getattr(self, WEEKDAYS[day.weekday()]):
            start = _at(day, r.start, tz)
            end = _at(day + timedelta(days=1) if r.overnight else day, r.end, tz)
            out.append((start, end, r.counters))
        return out

    def counters_at(self, at: float, tz: ZoneInfo) -> int:
        """Counters the schedule opens at this moment (the most where ranges overlap); 0 outside them."""
        local = datetime.fromtimestamp(at, tz).date()
        found = [
            n for day in (local, local - timedelta(days=1)) for s, e, n in self.spans(day, tz) if s <= at < e
        ]
        return max(found, default=0)

    def last_change(self, at: float, tz: ZoneInfo) -> float | None:
        """The latest start or end of a range at or before `at` (within the last 8 days)."""
        local = datetime.fromtimestamp(at, tz).date()
        marks = [
            mark
            for back in range(9)
            for s, e, _ in self.spans(local - timedelta(days=back), tz)
            for mark in (s, e)
            if mark <= at
        ]
        return max(marks, default=None)


def _at(day: date, hhmm: str, tz: ZoneInfo) -> float:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    if hours == 24:
        return datetime.combine(day + timedelta(days=1), time(0, 0), tz).timestamp()
    return datetime.combine(day, time(hours, minutes), tz).timestamp()


@dataclass(frozen=True, slots=True)
class CounterSetting:
    """One change as stored: a number set now (desk or lead), or a new schedule (lead)."""

    at: float
    set_by: Role  # who: the desk or the lead (a schedule is the lead's)
    counters: int | None = None  # a number set now
    schedule: CounterSchedule | None = None  # a schedule saved

    def __post_init__(self) -> None:
        if (self.counters is None) == (self.schedule is None):
            raise ValueError("a counter setting holds either a number or a schedule")


def counters_open(settings: Sequence[CounterSetting], at: float, tz: ZoneInfo) -> int | None:
    """Counters open at `at` from the settings made until then (in any order): the last number set
    while no schedule change came after it, else the schedule in force; None with neither."""
    made = sorted((s for s in settings if s.at <= at), key=lambda s: s.at)
    number = next((s for s in reversed(made) if s.counters is not None), None)
    plan = next((s for s in reversed(made) if s.schedule is not None), None)
    if plan is None or plan.schedule is None:
        return None if number is None else number.counters
    change = max(plan.at, plan.schedule.last_change(at, tz) or plan.at)
    if number is not None and number.at >= change:
        return number.counters
    return plan.schedule.counters_at(at, tz)


def next_change(settings: Sequence[CounterSetting], at: float, tz: ZoneInfo) -> float | None:
    """When the schedule changes next after `at` (a number set now holds until then); None
    without a schedule or a range within 8 days."""
    plan = next(
        (s for s in sorted(settings, key=lambda s: s.at, reverse=True) if s.schedule and s.at <= at), None
    )
    if plan is None or plan.schedule is None:
        return None
    local = datetime.fromtimestamp(at, tz).date()
    marks = [
        mark
        for ahead in range(-1, 9)
        for s, e, _ in plan.schedule.spans(local + timedelta(days=ahead), tz)
        for mark in (s, e)
        if mark > at
    ]
    return min(marks, default=None)


def counters_mean(settings: Sequence[CounterSetting], start: float, end: float, tz: ZoneInfo) -> float | None:
    """Counters open on average from start to end, sampled at 12 evenly spaced moments (a report's
    step); None where unknown at any of them."""
    samples = [counters_open(settings, start + (end - start) * (i + 0.5) / 12, tz) for i in range(12)]
    known = [n for n in samples if n is not None]
    return sum(known) / len(known) if known and len(known) == len(samples) else None
