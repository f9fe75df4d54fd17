"""A site's rooms counted step by step from its cameras' analysed frames.

After each analysed frame of a calibrated camera, its people (as the camera's zones count them: the
last detection's where the motion gate let it stand, without the things of edge/zones/fixtures.py)
become floor points, handed with the frame's capture time to every room the camera sees. A room's
step takes one frame per camera captured within PAIRING_TOLERANCE_S of the oldest frame not yet
counted (the nearest, as pair_frames picks it), counts each person once (count_room), gives them ids
on the floor (FloorTracker) and feeds the room's accounting, the one zones use. A camera down, or
without a frame close enough in time, leaves the step partial: the others still count, and the count
is a lower bound, exported as such. People last seen where only such a camera looks are not taken
for gone: as the camera's zones bridge an outage of up to its max_gap_s, their visits go on until
that floor is seen again, so that an outage adds no exits and, once the camera is back, no entries
of people who never left; after a longer outage they end at their last sighting, as the zones' do.

Floor points and floor ids live for a step inside this process; a step's reading is aggregates only.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from edge.config import Config, RoomConfig, camera_floor, room_cameras
from edge.detections import Detections
from edge.metrics import EdgeMetrics
from edge.zones.accounting import ZoneAccount, ZoneReading
from edge.zones.camera_floor import CameraFloor
from edge.zones.floor_tracker import FloorTracker, Hidden
from edge.zones.geometry import contains
from edge.zones.rooms import FLOOR_ANCHOR, PAIRING_TOLERANCE_S, Points, RoomView, count_room, pair_frames

# A step waits for a late camera's frame until another camera's frames are this far past it, then
# counts without it (partial): a camera that stalls must not hold its room still until the watchdog
# notices (stall_timeout_s, 10 s by default).
WAIT_S = 4 * PAIRING_TOLERANCE_S
MAX_PENDING = 64  # frames kept per camera while waiting; bounds the state whatever the clocks do


@dataclass(frozen=True, slots=True)
class RoomStep:
    """One room's step: its reading (aggregates), whether a camera lacked a frame for it, and, for
    this step only, the cameras' views (None: no frame) and the people counted, as floor points."""

    reading: ZoneReading
    partial: bool
    time_s: float
    wall_time: float
    views: tuple[RoomView | None, ...]
    people: Points


@dataclass(frozen=True, slots=True)
class _Sighting:
    time_s: float
    wall_time: float
    view: RoomView


def view_of(floor: CameraFloor, people: Detections, size: tuple[int, int]) -> RoomView:
    """A camera's people in a picture of `size` (width, height) as a room view: floor points of
    their FLOOR_ANCHOR, the camera's footprint, their confidences and boxes, and its floor mapping.
    With a lens model the boxes are undistorted as the floor mapping's fractions are (corner by
    corner: a box stays a box to within the lens's bend over a person's size)."""
    scale = np.asarray(size, np.float64)
    fractions = people.anchors(FLOOR_ANCHOR) / scale
    boxes = people.xyxy.astype(np.float64) / np.tile(scale, 2)
    if floor.lens is not None and len(boxes):
        boxes = floor.lens.undistort(boxes.reshape(-1, 2)).reshape(-1, 4)
    return RoomView(floor.to_floor(fractions), floor.footprint, people.confidence, boxes, floor.homography)


class RoomSteps:
    """One room: its cameras' recent views, paired into steps, counted, tracked and accounted."""

    def __init__(
        self,
        room: RoomConfig,
        cameras: Sequence[str],
        footprints: Sequence[Points],
        max_gaps_s: Sequence[float],
    ) -> None:
        """footprints: the floor each camera sees (metres), and max_gaps_s: the longest outage of
        each whose visits are bridged, both in the order of `cameras`."""
        self.room = room
        self.cameras = list(cameras)
        self._footprints = [np.asarray(f, np.float32).reshape(-1, 2) for f in footprints]
        self._max_gaps_s = list(max_gaps_s)
        self._polygon = np.asarray(room.polygon, np.float64)
        self._pending: dict[str, deque[_Sighting]] = {c: deque(maxlen=MAX_PENDING) for c in self.cameras}
        self._absent: set[str] = set()
        self._tracker = FloorTracker(room.exit_grace_s)
        self._account = ZoneAccount(room.id, room.loiter_limit_s, room.smoothing_frames, room.exit_grace_s)
        self._last_s: float | None = None

    def add(self, camera: str, time_s: float, wall_time: float, view: RoomView) -> list[RoomStep]:
        """A camera's analysed frame; returns the steps it completes (oldest first)."""
        self._absent.discard(camera)
        pending = self._pending[camera]
        if pending and time_s <= pending[-1].time_s:
            pending.clear()  # the camera's clock restarted (a file looped anew): its old frames cannot pair
        pending.append(_Sighting(time_s, wall_time, view))
        return self._steps()

    def absent(self, camera: str) -> list[RoomStep]:
        """The camera is down: its waiting frames are dropped and steps go on without it."""
        self._absent.add(camera)
        self._pending[camera].clear()
        return self._steps()

    @property
    def all_absent(self) -> bool:
        return self._absent.issuperset(self.cameras)

    def finish(self) -> ZoneReading:
        """End every visit (every camera down long enough, or the end); the room reads unknown."""
        for pending in self._pending.values():
            pending.clear()
        self._tracker.reset()
        self._last_s = None
        return self._account.finish()

    def _nearer_later(self, anchor: float, time_s: float) -> bool:
        """Whether some camera has a frame after the anchor that lies nearer to `time_s` than the
        anchor does: pairs are each other's nearest, not first come first served."""
        return any(
            anchor < s.time_s and abs(s.time_s - time_s) < abs(anchor - time_s)
            for pending in self._pending.values()
            for s in pending
            if s.time_s != time_s
        )

    def _steps(self) -> list[RoomStep]:
        steps = []
        while (step := self._step()) is not None:
            steps.append(step)
        return steps

    def _step(self) -> RoomStep | None:
        waiting = [p for p in self._pending.values() if p]
        if not waiting:
            return None
        anchor = min(p[0].time_s for p in waiting)
        newest = max(p[-1].time_s for p in waiting)
        picked: list[_Sighting | None] = []
        nearest = pair_frames([[s.time_s for s in self._pending[c]] for c in self.cameras], [anchor])[0]
        for camera, index in zip(self.cameras, nearest.tolist(), strict=True):
            pending = self._pending[camera]
            later = bool(pending) and pending[-1].time_s > anchor + PAIRING_TOLERANCE_S
            settled = index >= 0 or later or camera in self._absent or newest > anchor + WAIT_S
            if not settled:
                return None  # its frame for this step may still come
            if index >= 0 and self._nearer_later(anchor, pending[index].time_s):
                index = -1  # that frame pairs better with a later step's
            picked.append(pending[index] if index >= 0 else None)
        for camera, taken in zip(self.cameras, picked, strict=True):
            # Frames up to the one taken are used up (a frame left for a later step stays).
            cut = taken.time_s if taken is not None else anchor
            pending = self._pending[camera]
            while pending and pending[0].time_s <= cut:
                pending.popleft()
        # The anchor is some camera's oldest frame, the nearest to itself: that camera took it.
        first = min((s for s in picked if s is not None), key=lambda s: s.time_s)
        if self._last_s is not None and anchor < self._last_s:
            return None  # a clock that went back: wait for frames after the last step
        self._last_s = anchor
        views = tuple(None if s is None else s.view for s in picked)
        count = count_room(views, self._polygon)
        hidden = self._unseen_floor(views) if count.partial else None
        # As a camera's zones bridge its outage for max_gap_s, its room holds those it hides as long.
        hold_s = max(
            (g for g, view in zip(self._max_gaps_s, views, strict=True) if view is None), default=0.0
        )
        ids = self._tracker.update(count.people, anchor, hidden, hold_s)
        held = set(self._tracker.held_ids().tolist())
        reading = self._account.update(count.count, ids, anchor, held)
        return RoomStep(reading, count.partial, anchor, first.wall_time, views, count.people)

    def _unseen_floor(self, views: Sequence[RoomView | None]) -> Hidden:
        """Which floor points only the cameras without a frame at this step look at."""
        down = [f for f, view in zip(self._footprints, views, strict=True) if view is None]
        up = [f for f, view in zip(self._footprints, views, strict=True) if view is not None]

        def hidden(points: Points) -> NDArray[np.bool_]:
            xy = np.asarray(points, np.float32).reshape(-1, 2)
            unseen = np.zeros(len(xy), bool)
            for footprint in down:
                unseen |= contains(footprint, xy)
            for footprint in up:
                unseen &= ~contains(footprint, xy)
            return unseen

        return hidden


class SiteRooms:
    """Every room of a site, fed by its calibrated cameras' pipelines; its steps go to the metrics.
    Thread-safe: the analysis thread brings frames, a camera's outage may come from another."""

    def __init__(
        self,
        config: Config,
        metrics: EdgeMetrics | None = None,
        on_step: Callable[[str, RoomStep], None] | None = None,
    ) -> None:
        """on_step: told each step as it is counted (room id, step), in the calling thread (evaluations)."""
        self._lock = threading.Lock()
        self._metrics = metrics
        self._on_step = on_step
        seeing = room_cameras(config)
        rooms = {room.id: room for room in config.floor.rooms} if config.floor else {}
        self.floors: dict[str, CameraFloor] = {}
        for camera in config.cameras:
            floor = camera_floor(camera)
            if floor is not None and any(camera.id in cameras for cameras in seeing.values()):
                self.floors[camera.id] = floor
        max_gaps_s = {camera.id: camera.max_gap_s for camera in config.cameras}
        self.rooms = [
            RoomSteps(
                rooms[room],
                cameras,
                [self.floors[c].footprint for c in cameras],
                [max_gaps_s[c] for c in cameras],
            )
            for room, cameras in seeing.items()
        ]
        self._by_camera = {c: [r for r in self.rooms if c in r.cameras] for c in self.floors}

    def sees_rooms(self, camera: str) -> bool:
        return bool(self._by_camera.get(camera))

    def seen(
        self, camera: str, time_s: float, wall_time: float, people: Detections, size: tuple[int, int]
    ) -> list[tuple[str, RoomStep]]:
        """A camera's analysed frame (its people in a picture of (width, height)); returns the
        (room id, step) it completed."""
        rooms = self._by_camera.get(camera, [])
        if not rooms:
            return []
        with self._lock:
            view = view_of(self.floors[camera], people, size)
            steps = [(r.room.id, step) for r in rooms for step in r.add(camera, time_s, wall_time, view)]
            self._record(steps)
        return steps

    def unseen(self, camera: str) -> list[tuple[str, RoomStep]]:
        """The camera is not analysed now (down, failing, ended): its rooms go on without it, and a
        room none of whose cameras is left ends its visits and reads unknown."""
        with self._lock:
            rooms = self._by_camera.get(camera, [])
            steps = [(r.room.id, step) for r in rooms for step in r.absent(camera)]
            self._record(steps)
            for room in rooms:
                if room.all_absent:
                    reading = room.finish()
                    if self._metrics is not None:
                        self._metrics.forget_room(room.room.id, reading)
            if self._metrics is not None and all(r.all_absent for r in self.rooms):
                self._metrics.rooms_down()
        return steps

    def _record(self, steps: list[tuple[str, RoomStep]]) -> None:
        for room, step in steps:
            if self._metrics is not None:
                self._metrics.record_room(room, step.wall_time, step.reading, step.partial)
            if self._on_step is not None:
                self._on_step(room, step)
