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
    WARNING = "warning"  # filling up: the forecast reaches the raise level soon
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
    """Occupancy of one zone at one time (the edge's last analysed frame where it says so).
    partial: a room's count while one of its cameras is down or late (or a member zone of a room
    added across boxes is unknown): at least this many, never fewer."""

    occupancy: float
    at: float
    partial: bool = False


class Unknown(StrEnum):
    """Why a zone's count is unknown, in kinds a screen can put into words for staff."""

    CAMERA_DOWN = "camera_down"  # the edge says the camera delivers no analysed frames
    NO_FRAMES = "no_frames"  # the camera's last analysed frame is too old
    INPUT_FAILED = "input_failed"  # the edge box (or Prometheus) could not be read
    NOT_COUNTED = "not_counted"  # the edge answered, without a count for this zone
    NOT_READ_YET = "not_read_yet"  # nothing read since the start


@dataclass(frozen=True, slots=True)
class Why:
    """Why a zone is unknown: its kind, and the technical detail for IT."""

    kind: Unknown
    detail: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one read of the occupancy input saw.

    zones: zones with a known occupancy. cameras_down: (site, camera) -> why its zones are unknown.
    reported: every zone in the series of the sources that answered, with its display name (the
    edge's wartezone_zone_info, else the id). complete: every source has answered at least once
    since the start, so a zone reported by none of them does not exist (a typo, a removed zone).
    problems: input trouble worth showing (a target that failed, a sample without labels).
    A zone seen before and absent here is unknown: a missing series is never 0 people.
    entries_total, exits_total: the edge's counters as read (scraped directly; Prometheus keeps its
    own history). recent_exits: people who left each zone in the last EXPECTED_WAIT_WINDOW_S, only
    where the input has seen that whole window (the expected wait's denominator).
    zones_unknown: why a zone that is not a camera's own (a room added across boxes) is unknown.
    room_members: each room the API adds up from zones on several boxes (its key under camera
    "floor"), and the zones it adds; zone_rooms: the room each zone named when its box last answered.
    """

    taken_at: float
    zones: dict[ZoneKey, Reading] = field(default_factory=dict)
    cameras_down: dict[tuple[str, str], Why] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    reported: dict[ZoneKey, str] = field(default_factory=dict)
    complete: bool = False
    entries_total: dict[ZoneKey, float] = field(default_factory=dict)
    exits_total: dict[ZoneKey, float] = field(default_factory=dict)
    recent_exits: dict[ZoneKey, float] = field(default_factory=dict)
    zones_unknown: dict[ZoneKey, Why] = field(default_factory=dict)
    room_members: dict[ZoneKey, tuple[ZoneKey, ...]] = field(default_factory=dict)
    zone_rooms: dict[ZoneKey, str] = field(default_factory=dict)  # each zone's room, as last read


class Clock(Protocol):
    def now(self) -> float:
        """Unix time in seconds."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()
