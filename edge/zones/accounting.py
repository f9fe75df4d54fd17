"""Per-zone accounting: occupancy now, entries, exits, dwell times and loitering."""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from edge.config import CameraConfig
from edge.detections import Detections
from edge.zones.geometry import contains, polygon_area, to_pixels

MAX_PEOPLE_PER_ZONE = 1000  # hard bound on per-person state, whatever the tracker does


@dataclass(frozen=True, slots=True)
class ZoneReading:
    """What one zone shows after one analysed frame: aggregates only."""

    zone: str
    occupancy: int  # smoothed, what is reported
    raw_count: int  # people inside in this frame alone
    loitering: int  # present longer than the zone's loitering limit
    longest_dwell_s: float
    entries: int  # people who entered with this frame
    completed_dwells_s: tuple[float, ...] = ()  # durations of visits that ended with this frame


@dataclass(slots=True)
class _Presence:
    entered_s: float
    last_seen_s: float


@dataclass
class ZoneAccount:
    """One zone's state. Occupancy is the median of the last `smoothing_frames` raw counts, so a
    person missed (or a false detection) in a single frame does not move it; visits come from
    tracks and end when a track has not been seen inside for `exit_grace_s`.
    """

    zone: str
    loiter_limit_s: float
    smoothing_frames: int
    exit_grace_s: float
    _counts: deque[int] = field(init=False)
    _present: dict[int, _Presence] = field(init=False, default_factory=dict)
    _held: set[int] = field(init=False, default_factory=set)  # held at the last update

    def __post_init__(self) -> None:
        self._counts = deque(maxlen=self.smoothing_frames)

    def update(
        self, raw_count: int, track_ids_inside: np.ndarray, time_s: float, held: Collection[int] = ()
    ) -> ZoneReading:
        """held: tracks unseen now that no camera could see (a room's camera down): their visits
        go on, ending only once they could be seen again and are not (a visit's dwell stays what
        was seen of it)."""
        self._counts.append(raw_count)
        # Visits end first, so that a track back after the grace period starts a new visit; one
        # held until now and seen again goes on.
        back = self._held.intersection(track_ids_inside.tolist())
        gone = [
            t
            for t, p in self._present.items()
            if time_s - p.last_seen_s > self.exit_grace_s and t not in held and t not in back
        ]
        self._held = set(held)
        dwells = [self._leave(t) for t in gone]
        entries = 0
        for track_id in track_ids_inside.tolist():
            presence = self._present.get(track_id)
            if presence is None:
                self._present[track_id] = _Presence(time_s, time_s)
                entries += 1
            else:
                presence.last_seen_s = time_s
        while len(self._present) > MAX_PEOPLE_PER_ZONE:
            oldest = min(self._present, key=lambda t: self._present[t].last_seen_s)
            dwells.append(self._leave(oldest))
        return self._reading(raw_count, time_s, entries, dwells, held)

    def finish(self) -> ZoneReading:
        """End every visit (stream ended or state is being dropped); returns their dwell times."""
        dwells = [self._leave(t) for t in list(self._present)]
        self._counts.clear()
        self._held.clear()
        return ZoneReading(self.zone, 0, 0, 0, 0.0, 0, tuple(dwells))

    def _leave(self, track_id: int) -> float:
        presence = self._present.pop(track_id)
        return presence.last_seen_s - presence.entered_s

    def _reading(
        self, raw_count: int, time_s: float, entries: int, dwells: list[float], held: Collection[int] = ()
    ) -> ZoneReading:
        # The held may have left unseen: the stays are those seen, like the partial count.
        stays = [time_s - p.entered_s for t, p in self._present.items() if t not in held]
        return ZoneReading(
            zone=self.zone,
            occupancy=int(statistics.median_low(self._counts)),
            raw_count=raw_count,
            loitering=sum(stay > self.loiter_limit_s for stay in stays),
            longest_dwell_s=max(stays, default=0.0),
            entries=entries,
            completed_dwells_s=tuple(dwells),
        )


class CameraZones:
    """All zones of one camera: who is inside which, per analysed frame."""

    def __init__(self, camera: CameraConfig) -> None:
        self._zones = camera.zones
        self._accounts = [
            ZoneAccount(z.id, z.loiter_limit_s, z.smoothing_frames, z.exit_grace_s) for z in camera.zones
        ]
        self._pixels: dict[tuple[int, int], list[np.ndarray]] = {}
        self._correction = camera.count_correction
        # A calibrated offset is per whole picture: each zone takes its share by area.
        self._shares = [min(1.0, polygon_area(z.polygon)) for z in camera.zones]

    def polygons(self, width: int, height: int) -> list[np.ndarray]:
        key = (width, height)
        if key not in self._pixels:
            self._pixels[key] = [to_pixels(z.polygon, width, height) for z in self._zones]
        return self._pixels[key]

    def update(self, people: Detections, width: int, height: int, time_s: float) -> list[ZoneReading]:
        readings = []
        track_id = people.track_id if people.track_id is not None else np.full(len(people), -1)
        # A box cut by the image border ends on it; keep such anchors inside the last pixel row.
        limit = np.array([width - 0.5, height - 0.5], np.float32)
        for zone, account, polygon, share in zip(
            self._zones, self._accounts, self.polygons(width, height), self._shares, strict=True
        ):
            inside = contains(polygon, np.clip(people.anchors(zone.anchor), 0, limit))
            ids = track_id[inside]
            readings.append(account.update(self._corrected(int(inside.sum()), share), ids[ids >= 0], time_s))
        return readings

    def _corrected(self, count: int, share: float) -> int:
        """The camera's calibrated count (the detected one when it has no correction)."""
        c = self._correction
        return count if c is None else max(0, round(c.scale * count + c.offset * share))

    def finish(self) -> list[ZoneReading]:
        return [account.finish() for account in self._accounts]
