"""One count per room from several cameras' floor points, pure: no state, no I/O.

Each camera's people arrive as floor points (edge/zones/floor.py). A room's step pairs one frame
per camera taken close together in time (pair_frames), then counts each person inside the room
once (merge_views): where two cameras' footprints overlap, one person seen by both is one
detection in each, and an optimal assignment within a gate in metres tells them apart from two
people standing close. Floor points live for one step; only the count and the merged points for
the room's accounting inside the process come back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edge.assignment import min_cost_pairs
from edge.detections import Anchor, Detections
from edge.zones.floor import to_floor, to_picture
from edge.zones.geometry import contains

Points = NDArray[np.float64]

# Two cameras' floor points of one person lie this close. Their disagreement adds up from the
# calibration (up to RESIDUAL_WARNING_CM = 0.25 m each), the floor point (ankles or box bottom: about
# 0.2 m, see benchmarks/rooms.py) and walking between the two frames' capture times (1.4 m/s x
# PAIRING_TOLERANCE_S = 0.35 m): about 0.5 m root-sum-square. People standing or sitting side by side
# are 0.5 to 0.6 m apart centre to centre, so a tighter gate splits one person into two, a wider one
# merges neighbours; 0.8 m errs towards splitting only where the calibration is off.
GATE_M = 0.8
# Frames of one room's cameras are merged only if captured this close together (see GATE_M).
PAIRING_TOLERANCE_S = 0.25
# Each person's floor point: the bottom centre of their box. benchmarks/rooms.py measures it against
# the ankles: on PETS the ankles' point lies 8.6 px (median) above the true foot point, 0.6 m on
# the floor, the box's bottom 3.1 px (0.13 m). An ankle is about 10 cm above the floor, and a
# camera that looks at the floor at a shallow angle stretches that height into half a metre; the
# box's bottom edge is the sole, on the floor itself.
FLOOR_ANCHOR = Anchor.BOX_BOTTOM
# A sighting below this confidence is faint: a person only where a second camera confirms it or
# cannot see the place plainly (merge_views). The confidence above which the usual detector settings
# (ultralytics' 0.25) keep a box on its own; the edge's detector keeps fainter ones to count crowds.
FAINT_BELOW = 0.25
# A box within this share of its picture's size from the left, right or bottom border is cut by it.
CUT_MARGIN = 0.01
# A camera sees a place plainly where a person's feet there fall this far inside its picture
# (share of width from the sides, of height from the top): nearer the sides part of the body is
# outside, nearer the top the head (a person is about a tenth to a fifth of a picture's height).
PLAIN_MARGIN = (0.05, 0.15)
_NO_PAIR = 1e6  # the cost of a pair beyond the gate: any assignment with fewer of them wins


def floor_points(
    people: Detections, homography: Points, size: tuple[int, int], anchor: Anchor = FLOOR_ANCHOR
) -> Points:
    """(N, 2) floor metres of each person's anchor in a picture of `size` (width, height); NaN rows
    for points above the horizon."""
    return to_floor(homography, people.anchors(anchor) / np.asarray(size, np.float64))


def pair_frames(
    times: Sequence[ArrayLike], at_s: ArrayLike, tolerance_s: float = PAIRING_TOLERANCE_S
) -> NDArray[np.int64]:
    """For each step time in `at_s`, the index of each camera's frame captured nearest to it.

    times: per camera, the capture times of its frames (seconds, ascending); at_s: (S,) the steps.
    Returns (S, cameras) frame indices, -1 where a camera has no frame within `tolerance_s` of the
    step: the room is partial at that step (a camera down or lagging), never a silently lower count.
    """
    if tolerance_s < 0:
        raise ValueError(f"tolerance_s must be >= 0, got {tolerance_s}")
    steps = np.asarray(at_s, np.float64).reshape(-1)
    picked = np.full((len(steps), len(times)), -1, np.int64)
    for camera, camera_times in enumerate(times):
        clock = np.asarray(camera_times, np.float64).reshape(-1)
        if len(clock) == 0:
            continue
        if (np.diff(clock) < 0).any():
            raise ValueError(f"camera {camera}: capture times must be ascending")
        after = (
            np.clip(np.searchsorted(clock, steps), 1, len(clock) - 1)
            if len(clock) > 1
            else np.zeros(len(steps), int)
        )
        before = np.maximum(after - 1, 0)
        nearest = np.where(np.abs(clock[after] - steps) < np.abs(clock[before] - steps), after, before)
        close = np.abs(clock[nearest] - steps) <= tolerance_s
        picked[close, camera] = nearest[close]
    return picked


def partial_steps(picked: NDArray[np.int64]) -> NDArray[np.bool_]:
    """(S,) steps at which some camera of the room had no frame close enough (see pair_frames)."""
    partial: NDArray[np.bool_] = np.asarray((picked < 0).any(axis=1), bool)
    return partial


def assign(a: ArrayLike, b: ArrayLike, gate_m: float = GATE_M) -> NDArray[np.int64]:
    """Pairs (i, j) of points a[i], b[j] that are one person: as many pairs within `gate_m` as
    possible, then the least total distance (Hungarian method). Greedy nearest-first can take the
    one pair that blocks two; see tests/edge/zones/test_rooms.py. Returns (P, 2) indices."""
    first = np.asarray(a, np.float64).reshape(-1, 2)
    second = np.asarray(b, np.float64).reshape(-1, 2)
    if len(first) == 0 or len(second) == 0:
        return np.zeros((0, 2), np.int64)
    distance = np.linalg.norm(first[:, None, :] - second[None, :, :], axis=2)
    cost = np.where(distance <= gate_m, distance, _NO_PAIR)
    rows, columns = min_cost_pairs(cost)
    kept = distance[rows, columns] <= gate_m
    return np.stack([rows[kept], columns[kept]], axis=1).astype(np.int64)


@dataclass(frozen=True, slots=True)
class RoomView:
    """One camera's part in a room step: its people's floor points (NaN rows: no floor point), the
    floor it sees (footprint polygon, metres) and, optionally, per person the detector's confidence
    and box (picture fractions x1, y1, x2, y2), and the camera's floor mapping (the 3x3 homography
    from those fractions to metres; its inverse places a floor point in the picture). Boxes and
    mapping tell where the camera sees a place plainly and which of its people the border cuts."""

    points: Points
    footprint: Points
    confidence: NDArray[np.float32] | None = None
    boxes: Points | None = None
    homography: Points | None = None

    def __post_init__(self) -> None:
        points = np.asarray(self.points, np.float64).reshape(-1, 2)
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "footprint", np.asarray(self.footprint, np.float64).reshape(-1, 2))
        if self.confidence is not None:
            confidence = np.asarray(self.confidence, np.float32)
            if confidence.shape != (len(points),):
                raise ValueError(f"confidence must have shape ({len(points)},), got {confidence.shape}")
            object.__setattr__(self, "confidence", confidence)
        if self.boxes is not None:
            boxes = np.asarray(self.boxes, np.float64)
            if boxes.shape != (len(points), 4):
                raise ValueError(f"boxes must have shape ({len(points)}, 4), got {boxes.shape}")
            object.__setattr__(self, "boxes", boxes)
        if self.homography is not None:
            homography = np.asarray(self.homography, np.float64)
            if homography.shape != (3, 3):
                raise ValueError(f"homography must have shape (3, 3), got {homography.shape}")
            object.__setattr__(self, "homography", homography)

    @property
    def cut_below(self) -> NDArray[np.bool_]:
        """(N,) people whose box the picture's bottom border cuts: their feet are below the picture,
        so they stand nearer the camera than any floor it sees, outside its footprint, and the box's
        bottom edge (the border) gives a floor point that is too far by up to their height's reach."""
        if self.boxes is None:
            return np.zeros(len(self.points), bool)
        cut: NDArray[np.bool_] = self.boxes[:, 3] >= 1 - CUT_MARGIN
        return cut

    @property
    def cut_aside(self) -> NDArray[np.bool_]:
        """(N,) people whose box the picture's left or right border cuts: the box's bottom centre is
        the middle of the part seen, off the feet by up to half a body."""
        if self.boxes is None:
            return np.zeros(len(self.points), bool)
        cut: NDArray[np.bool_] = (self.boxes[:, 0] <= CUT_MARGIN) | (self.boxes[:, 2] >= 1 - CUT_MARGIN)
        return cut

    def sees_whole(self, points: Points) -> NDArray[np.bool_]:
        """(P,) whether a person standing at each floor point would be inside this camera's picture
        whole: in its footprint, with their feet away from the picture's border (PLAIN_MARGIN).
        Without a floor mapping: its footprint."""
        seen = _inside(self.footprint, points) if len(points) else np.zeros(0, bool)
        if self.homography is None or not len(points):
            return seen
        feet = to_picture(self.homography, points)
        side, top = PLAIN_MARGIN
        with np.errstate(invalid="ignore"):
            seen &= (feet[:, 0] >= side) & (feet[:, 0] <= 1 - side) & (feet[:, 1] >= top) & (feet[:, 1] <= 1)
        return seen

    def sees_plainly(self, points: Points) -> NDArray[np.bool_]:
        """(P,) whether this camera would see a person standing at each floor point whole
        (sees_whole) and unhidden: their feet behind none of its people's boxes."""
        seen = self.sees_whole(points)
        if self.boxes is None or self.homography is None or not seen.any():
            return seen
        feet = to_picture(self.homography, points)
        for x1, y1, x2, y2 in self.boxes:
            seen &= ~((feet[:, 0] >= x1) & (feet[:, 0] <= x2) & (feet[:, 1] >= y1) & (feet[:, 1] <= y2))
        return seen


def _inside(polygon: ArrayLike, points: Points) -> NDArray[np.bool_]:
    return contains(np.asarray(polygon, np.float32).reshape(-1, 2), points.astype(np.float32))


def merge_views(
    views: Sequence[RoomView],
    room: ArrayLike,
    gate_m: float = GATE_M,
    faint_below: float | None = FAINT_BELOW,
) -> Points:
    """The room's people on the floor, each once: (K, 2) metres; K is the room's count.

    Cameras are merged one after another in their order. Each camera's points inside the room are
    matched (assign) against the people found so far that its footprint covers, and only its
    points that an earlier camera's footprint covers take part: a person outside every other view
    cannot be a duplicate, so two people standing close where only one camera sees are never merged.
    A matched person's point becomes the mean of its sightings; the others are new people. One
    camera's own detections are never merged with each other (the assignment is one to one), which
    is why cameras are merged in turn rather than all points clustered at once.

    Two kinds of sighting yield to the other cameras, because each camera adds its own mistakes to
    the room and a merge adds them up:
    - a person the picture's bottom border cuts (RoomView.cut_below): their feet, below the
      picture, are outside this camera's footprint; a camera whose footprint holds them counts them;
    - a person the left or right border cuts (RoomView.cut_aside) where another camera would see them
      whole (RoomView.sees_whole): that camera counts them, this one has their floor point off;
    - with `faint_below`, a person seen by one camera only, with a confidence below it, where
      another camera would see them plainly (RoomView.sees_plainly: in its picture, behind none of
      its people): a faint box the other camera does not confirm in open view is more often a thing
      (a stand, a bollard) than a person. Where the other camera's view of the place is blocked by
      someone (a crowd), the faint person stays: they may be hidden there. Views without
      confidences have no faint people.
    """
    polygon = np.asarray(room, np.float64).reshape(-1, 2)
    if len(polygon) < 3:
        raise ValueError(f"a room needs at least 3 corners, got {len(polygon)}")
    people = np.zeros((0, 2))
    sightings = np.zeros(0)
    best = np.zeros(0)  # the highest confidence of each person's sightings
    origin = np.zeros(0, int)  # the view that first saw each person
    for index, view in enumerate(views):
        kept: NDArray[np.bool_] = np.asarray(np.isfinite(view.points).all(axis=1), bool)
        kept[kept] = _inside(polygon, view.points[kept])
        kept &= ~view.cut_below
        cut = view.cut_aside & kept
        for other in views:
            if other is not view and cut.any():
                kept[cut] &= ~other.sees_whole(view.points[cut])
        points = view.points[kept]
        confidence = (
            np.ones(len(points)) if view.confidence is None else view.confidence[kept].astype(np.float64)
        )
        seen_before = np.zeros(len(points), bool)
        for earlier in views[:index]:
            seen_before |= _inside(earlier.footprint, points)
        candidates, mine = np.flatnonzero(_inside(view.footprint, people)), np.flatnonzero(seen_before)
        pairs = assign(people[candidates], points[mine], gate_m)
        matched_people, matched_points = candidates[pairs[:, 0]], mine[pairs[:, 1]]
        weight = sightings[matched_people][:, None]
        people[matched_people] = (people[matched_people] * weight + points[matched_points]) / (weight + 1)
        sightings[matched_people] += 1
        best[matched_people] = np.maximum(best[matched_people], confidence[matched_points])
        new = np.ones(len(points), bool)
        new[matched_points] = False
        people = np.concatenate([people, points[new]])
        sightings = np.concatenate([sightings, np.ones(int(new.sum()))])
        best = np.concatenate([best, confidence[new]])
        origin = np.concatenate([origin, np.full(int(new.sum()), index)])
    if faint_below is None:
        return people
    unconfirmed = np.flatnonzero((sightings == 1) & (best < faint_below))
    plain = np.zeros(len(unconfirmed), bool)
    for index, view in enumerate(views):
        theirs = origin[unconfirmed] != index
        plain[theirs] |= view.sees_plainly(people[unconfirmed[theirs]])
    confirmed: Points = np.delete(people, unconfirmed[plain], axis=0)
    return confirmed


@dataclass(frozen=True, slots=True)
class RoomCount:
    """A room at one step: its people's floor points (for the room's accounting in this process,
    dropped after the step) and whether a camera of the room had no frame for it."""

    people: Points
    partial: bool  # then the count is a lower bound: shown and exported as partial, never as the count

    @property
    def count(self) -> int:
        return len(self.people)


def count_room(
    views: Sequence[RoomView | None],
    room: ArrayLike,
    gate_m: float = GATE_M,
    faint_below: float | None = FAINT_BELOW,
) -> RoomCount:
    """The room's people at one step from its cameras' views, None for a camera with no frame close
    enough in time (pair_frames) or down: the others still count, and the step is partial."""
    present = [view for view in views if view is not None]
    people = merge_views(present, room, gate_m, faint_below)
    return RoomCount(people, len(present) < len(views))


def times_counted(found: ArrayLike, truth: ArrayLike, gate_m: float = GATE_M) -> NDArray[np.int64]:
    """Per true person, how many found points are theirs: each found point goes to the nearest true
    person within the gate (many to one, so a person counted twice shows as 2). For evaluations."""
    found_points = np.asarray(found, np.float64).reshape(-1, 2)
    true_points = np.asarray(truth, np.float64).reshape(-1, 2)
    counted = np.zeros(len(true_points), np.int64)
    if len(true_points) == 0 or len(found_points) == 0:
        return counted
    distance = np.linalg.norm(found_points[:, None] - true_points[None], axis=2)
    nearest = distance.argmin(axis=1)
    close = distance[np.arange(len(found_points)), nearest] <= gate_m
    np.add.at(counted, nearest[close], 1)
    return counted
