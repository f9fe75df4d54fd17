"""Values shared by the stages: zone keys, states, roles, what an occupancy input reports, the clock."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """The base of every settings and rule model: a typo is an error, a value never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ZoneKey(NamedTuple):
    """A waiting zone as the edge labels it."""

    site: str
    camera: str
    zone: str

    def __str__(self) -> str:
        return f"{self.site}/{self.camera}/{self.zone}"


class State(StrEnum):
    OK = "ok"
    PENDING = "pending"
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    UNKNOWN = "unknown"


class Role(StrEnum):
    DESK = "desk"
    LEAD = "lead"


@dataclass(frozen=True, slots=True)
class Reading:
    """Occupancy of one zone at one time (the edge's last analysed frame where it says so)."""

    occupancy: float
    at: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one read of the occupancy input saw.

    zones: zones with a known occupancy. cameras_down: (site, camera) -> why its zones are unknown.
    problems: input trouble worth showing (a target that failed, a sample without labels).
    A zone seen before and absent here is unknown: a missing series is never 0 people.
    """

    taken_at: float
    zones: dict[ZoneKey, Reading] = field(default_factory=dict)
    cameras_down: dict[tuple[str, str], str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


class Clock(Protocol):
    def now(self) -> float:
        """Unix time in seconds."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()
