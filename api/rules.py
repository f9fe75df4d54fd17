"""Alert rules per zone: raise and clear levels, minimum durations, cooldown, opening hours, the
early warning's reach and the counters advice's target.

RuleSpec is what the branch lead sends for one zone (the body of a PUT); Rule is a rule as the
storage holds it and the API returns it: the zone, its RuleSpec and when it was last set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, TypeGuard
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, model_validator

from api.domain import Strict, ZoneKey

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_S = 86400.0
DAY_MINUTES = 24 * 60
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_CLEAR = 9999
JSON_KINDS = {str: "text", bool: "true/false", type(None): "null", list: "a list", dict: "an object"}

StartTime = Annotated[
    str,
    Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local time HH:MM, 00:00 to 23:59.",
        examples=["08:00"],
    ),
]
EndTime = Annotated[
    str,
    Field(
        pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        description="Local time HH:MM (24:00 is the end of the day); at or before start: the next day.",
        examples=["16:00"],
    ),
]


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _minute_of_day(at: time) -> float:
    return at.hour * 60 + at.minute + at.second / 60 + at.microsecond / 60e6


def _json_number(value: object) -> object:
    """Only a number, as the schema says: pydantic alone would also take "5" or true."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, got {JSON_KINDS.get(type(value), type(value).__name__)}")
    return value


def _iso_date(value: object) -> object:
    """Only YYYY-MM-DD, as the schema says: pydantic alone would also take a Unix time or a datetime."""
    if isinstance(value, date) or (isinstance(value, str) and ISO_DATE.fullmatch(value)):
        return value
    raise ValueError(f"must be a date written YYYY-MM-DD, got {value!r}")


def _whole(value: object) -> TypeGuard[int | float]:
    """A JSON number without a fraction (what a Count takes)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()


Count = Annotated[int, BeforeValidator(_json_number)]
Seconds = Annotated[float, BeforeValidator(_json_number)]
Minutes = Annotated[float, BeforeValidator(_json_number)]
Share = Annotated[float, BeforeValidator(_json_number)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class Interval(Strict):
    """From start to end, local time. An end at or before the start is on the next day: 22:00-06:00
    runs overnight, and an end equal to the start makes 24 hours (00:00-00:00: the whole day).
    An interval belongs to the day it starts on, its hours after midnight included."""

    # Every start/end pair the schema allows has a meaning. JSON Schema cannot compare two
    # fields, so refusing end <= start would answer 422 to bodies the published schema accepts;
    # reading it as "ends the next day" is also what a night shift needs. Only a start of 24:00,
    # which the pattern can exclude, is refused.
    start: StartTime
    end: EndTime

    @property
    def overnight(self) -> bool:
        return _minutes(self.end) <= _minutes(self.start)

    def open_on_its_day(self, minute: float) -> bool:
        """Open at this minute of the day the interval starts on."""
        end = DAY_MINUTES if self.overnight else _minutes(self.end)
        return _minutes(self.start) <= minute < end

    def open_on_the_next_day(self, minute: float) -> bool:
        """Open at this minute of the following day (overnight intervals only)."""
        return self.overnight and minute < _minutes(self.end)


DayHours = Annotated[
    list[Interval], Field(max_length=8, description="Open intervals that day; none: closed all day.")
]


class OpeningHours(Strict):
    """When the office is open, in the API's time zone. A weekday left out is closed; a closed
    date closes the intervals that start on it."""

    monday: DayHours = Field(default_factory=list)
    tuesday: DayHours = Field(default_factory=list)
    wednesday: DayHours = Field(default_factory=list)
    thursday: DayHours = Field(default_factory=list)
    friday: DayHours = Field(default_factory=list)
    saturday: DayHours = Field(default_factory=list)
    sunday: DayHours = Field(default_factory=list)
    closed_dates: list[IsoDate] = Field(
        default_factory=list, max_length=400, description="Days closed although their weekday is open."
    )

    def is_open(self, at: float, tz: ZoneInfo) -> bool:
        local = datetime.fromtimestamp(at, tz)
        minute = _minute_of_day(local.time())
        today, yesterday = local.date(), local.date() - timedelta(days=1)
        return any(i.open_on_its_day(minute) for i in self._intervals(today)) or any(
            i.open_on_the_next_day(minute) for i in self._intervals(yesterday)
        )

    def _intervals(self, day: date) -> list[Interval]:
        """The intervals that start on this day; none on a closed date."""
        if day in self.closed_dates:
            return []
        intervals: list[Interval] = getattr(self, WEEKDAYS[day.weekday()])
        return intervals


class RuleSpec(Strict):
    """What the branch lead sets for one zone."""

    raise_level: Count = Field(
        ge=1, le=10000, description="People at or above this many, for min_above_s, raise an alert."
    )
    clear_level: Count = Field(
        ge=0,
        le=MAX_CLEAR,
        description="People at or below this many, for min_below_s, end it. Below raise_level, so that "
        "an alert does not flap; one at or above it is stored as raise_level - 1 (the alert ends once "
        "fewer than raise_level are counted).",
    )
    min_above_s: Seconds = Field(60.0, ge=0, le=DAY_S, description="Seconds at/above raise_level to fire.")
    min_below_s: Seconds = Field(60.0, ge=0, le=DAY_S, description="Seconds at/below clear_level to resolve.")
    cooldown_s: Seconds = Field(
        300.0, ge=0, le=DAY_S, description="Seconds after a resolve in which no new alert fires."
    )
    opening_hours: OpeningHours | None = Field(
        None, description="Alerts only fire while open; none: always open."
    )
    warn_ahead_min: Minutes = Field(
        20.0,
        ge=0,
        le=30,
        description='Warn "filling up" while open when the occupancy forecast reaches raise_level within '
        "this many minutes (the forecast reaches 30); 0: no early warning.",
    )
    target_wait_min: Minutes = Field(
        20.0, gt=0, le=240, description="The wait in minutes the counters advice aims to keep people under."
    )
    max_share_over_target: Share = Field(
        0.2,
        gt=0,
        lt=1,
        description="Counters needed keep at most this share of people waiting longer than target_wait_min.",
    )

    @model_validator(mode="before")
    @classmethod
    def _hysteresis(cls, data: object) -> object:
        # JSON Schema cannot compare two fields, so refusing clear_level >= raise_level would
        # answer 422 to bodies the published schema accepts; the nearest level with a gap is
        # stored instead, and the answer shows it.
        if isinstance(data, dict):
            raise_level, clear_level = data.get("raise_level"), data.get("clear_level")
            # only values each field takes on its own: clear_level 10000 stays refused (le=9999)
            if _whole(raise_level) and _whole(clear_level) and 1 <= raise_level <= clear_level <= MAX_CLEAR:
                return {**data, "clear_level": int(raise_level) - 1}
        return data

    def is_open(self, at: float, tz: ZoneInfo) -> bool:
        return self.opening_hours is None or self.opening_hours.is_open(at, tz)


class TooManyRules(Exception):
    """A new rule beyond the settings' limits.rules; the message says the limit and what to do."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A zone's rule as stored: what the lead set, and when."""

    key: ZoneKey
    spec: RuleSpec
    updated_at: float
