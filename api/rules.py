"""Alert rules per zone: raise and clear levels, minimum durations, cooldown and opening hours."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_S = 86400.0

HourMinute = Annotated[
    str,
    Field(
        pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        description="Local time HH:MM (24:00 is the end of the day).",
        examples=["08:00"],
    ),
]


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Interval(Strict):
    start: HourMinute
    end: HourMinute

    @model_validator(mode="after")
    def _end_after_start(self) -> Interval:
        if _minutes(self.end) <= _minutes(self.start):
            raise ValueError(f"end {self.end} must be after start {self.start} (split intervals at midnight)")
        return self

    def contains(self, at: time) -> bool:
        minute = at.hour * 60 + at.minute + at.second / 60 + at.microsecond / 60e6
        return _minutes(self.start) <= minute < _minutes(self.end)


DayHours = Annotated[
    list[Interval], Field(max_length=8, description="Open intervals that day; none: closed all day.")
]


class OpeningHours(Strict):
    """When the office is open, in the API's time zone. A weekday left out is closed."""

    monday: DayHours = Field(default_factory=list)
    tuesday: DayHours = Field(default_factory=list)
    wednesday: DayHours = Field(default_factory=list)
    thursday: DayHours = Field(default_factory=list)
    friday: DayHours = Field(default_factory=list)
    saturday: DayHours = Field(default_factory=list)
    sunday: DayHours = Field(default_factory=list)
    closed_dates: list[date] = Field(
        default_factory=list, max_length=400, description="Days closed although their weekday is open."
    )

    def is_open(self, at: float, tz: ZoneInfo) -> bool:
        local = datetime.fromtimestamp(at, tz)
        if local.date() in self.closed_dates:
            return False
        intervals: list[Interval] = getattr(self, WEEKDAYS[local.weekday()])
        return any(interval.contains(local.time()) for interval in intervals)


class RuleSpec(Strict):
    """What the branch lead sets for one zone."""

    raise_level: int = Field(
        ge=1, le=10000, description="People at or above this many, for min_above_s, raise an alert."
    )
    clear_level: int = Field(
        ge=0, le=9999, description="People at or below this many, for min_below_s, end it (< raise_level)."
    )
    min_above_s: float = Field(60.0, ge=0, le=DAY_S, description="Seconds at/above raise_level to fire.")
    min_below_s: float = Field(60.0, ge=0, le=DAY_S, description="Seconds at/below clear_level to resolve.")
    cooldown_s: float = Field(
        300.0, ge=0, le=DAY_S, description="Seconds after a resolve in which no new alert fires."
    )
    opening_hours: OpeningHours | None = Field(
        None, description="Alerts only fire while open; none: always open."
    )

    @model_validator(mode="after")
    def _hysteresis(self) -> RuleSpec:
        if self.clear_level >= self.raise_level:
            raise ValueError(
                f"clear_level ({self.clear_level}) must be below raise_level ({self.raise_level}): "
                "the gap keeps an alert from flapping"
            )
        return self

    def is_open(self, at: float, tz: ZoneInfo) -> bool:
        return self.opening_hours is None or self.opening_hours.is_open(at, tz)
