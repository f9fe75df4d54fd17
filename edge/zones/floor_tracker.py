"""Short-lived ids for a room's people on the floor, step to step, for its visits (entries, dwell).

A room's people are floor points (edge/zones/rooms.py) with no identity; its accounting
(edge/zones/accounting.py) needs to know who stayed from one step to the next. Each step's points
are assigned to the tracks of the step before within a gate in metres that widens with the time
between them (a walking person's reach), by the same optimal assignment that merges cameras' views.
Ids live in this process only, a track unseen for `lost_s` is dropped, and at most MAX_TRACKS live.

Each track also holds its side of the room's edge, with hysteresis of `margin_m` (0: none, a
track is on the side its point is on): a floor point is off by up to EDGE_MARGIN_M
(edge/zones/rooms.py), so a person standing at the edge would flicker in and out of the count step
by step, and someone standing just outside would be counted whenever their point strayed inside. A
track outside goes inside only once its point is at least `margin_m` inside, and one inside goes
outside only once its point is at least `margin_m` outside (or it is lost); in between, it keeps its
side. A new track takes the side its point is on, except one first seen inside but within the
margin: it goes inside once it has stayed inside for `settle_s` (someone first seen there, not
someone outside whose point strayed in once).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edge.zones.accounting import MAX_PEOPLE_PER_ZONE
from edge.zones.rooms import GATE_M, assign

WALK_M_S = (
    1.4  # a brisk walk; a person further away than this reaches in the time between steps is someone else
)
MAX_GATE_M = 3.0  # after a long gap, nearest-is-same stops meaning anything
MAX_TRACKS = MAX_PEOPLE_PER_ZONE
# A track first seen within the margin inside the room counts after staying inside this long.
SETTLE_S = 1.0


@dataclass(frozen=True, slots=True)
class Tracked:
    """A step's points: each one's track id, and whether that track is inside the room now."""

    ids: NDArray[np.int64]
    inside: NDArray[np.bool_]


class FloorTracker:
    """Assigns each step's floor points an id, the same one as the nearest point of the steps before
    that is within reach, and keeps each track's side of the room's edge (see the module's text);
    new points get new ids."""

    def __init__(
        self,
        lost_s: float,
        gate_m: float = GATE_M,
        margin_m: float = 0.0,
        settle_s: float = SETTLE_S,
    ) -> None:
        if not lost_s > 0:
            raise ValueError(f"lost_s must be > 0, got {lost_s}")
        if not gate_m > 0:
            raise ValueError(f"gate_m must be > 0, got {gate_m}")
        if not margin_m >= 0:
            raise ValueError(f"margin_m must be >= 0, got {margin_m}")
        if not settle_s >= 0:
            raise ValueError(f"settle_s must be >= 0, got {settle_s}")
        self.lost_s = lost_s
        self.gate_m = gate_m
        self.margin_m = margin_m
        self.settle_s = settle_s
        self._points = np.zeros((0, 2))  # each track's last floor point
        self._seen_s = np.zeros(0)  # when each track was last seen
        self._ids = np.zeros(0, np.int64)
        self._inside = np.zeros(0, bool)  # each track's side of the room's edge
        self._settling_s = np.zeros(
            0
        )  # since when a track first seen near the edge inside stayed in; NaN: none
        self._next_id = 0
        self._last_s: float | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def update(self, points: ArrayLike, time_s: float, depth: ArrayLike | None = None) -> Tracked:
        """The step's (K, 2) points at `time_s` (seconds, not before the last step's): their ids, and
        whether each one's track is inside the room. `depth`: (K,) metres of each point from the
        room's edge, negative outside (RoomCount.depth); None: every point well inside."""
        now = np.asarray(points, np.float64).reshape(-1, 2)
        deep = np.full(len(now), np.inf) if depth is None else np.asarray(depth, np.float64).reshape(-1)
        if deep.shape != (len(now),):
            raise ValueError(f"depth must have shape ({len(now)},), got {deep.shape}")
        if self._last_s is not None and time_s < self._last_s:
            raise ValueError(f"time_s went back: {time_s} after {self._last_s}")
        self._last_s = time_s
        self._keep(time_s - self._seen_s <= self.lost_s)
        ids = np.full(len(now), -1, np.int64)
        track = np.full(len(now), -1, np.int64)  # each point's index among the tracks
        if len(self._ids) and len(now):
            # Each track's reach grows with the time since it was seen.
            reach = np.minimum(MAX_GATE_M, self.gate_m + WALK_M_S * (time_s - self._seen_s))
            pairs = assign(self._points, now, float(reach.max()))
            pairs = pairs[
                np.linalg.norm(self._points[pairs[:, 0]] - now[pairs[:, 1]], axis=1) <= reach[pairs[:, 0]]
            ]
            ids[pairs[:, 1]] = self._ids[pairs[:, 0]]
            track[pairs[:, 1]] = pairs[:, 0]
            self._points[pairs[:, 0]] = now[pairs[:, 1]]
            self._seen_s[pairs[:, 0]] = time_s
        new = ids < 0
        count = int(new.sum())
        ids[new] = self._next_id + np.arange(count)
        track[new] = len(self._ids) + np.arange(count)
        self._next_id += count
        self._points = np.concatenate([self._points, now[new]])
        self._seen_s = np.concatenate([self._seen_s, np.full(count, time_s)])
        self._ids = np.concatenate([self._ids, ids[new]])
        self._inside = np.concatenate([self._inside, np.zeros(count, bool)])
        # A new track first seen inside the room but near its edge settles from now.
        near_in = (deep[new] > 0) & (deep[new] < self.margin_m)
        self._settling_s = np.concatenate([self._settling_s, np.where(near_in, time_s, np.nan)])
        self._sides(track, deep, time_s)
        inside = self._inside[track]
        if len(self._ids) > MAX_TRACKS:  # the longest unseen go first
            order = np.argsort(-self._seen_s, kind="stable")[:MAX_TRACKS]
            order.sort()
            self._keep(order)
        return Tracked(ids, inside)

    def _sides(self, track: NDArray[np.int64], depth: NDArray[np.float64], time_s: float) -> None:
        """Each seen track's side of the edge after this step's points (see the module's text)."""
        inside, settling = self._inside[track], self._settling_s[track]
        settling = np.where(depth > 0, settling, np.nan)  # out of the room once: no longer settling
        with np.errstate(invalid="ignore"):
            settled = time_s - settling >= self.settle_s
        inside = np.where(inside, depth > -self.margin_m, (depth >= self.margin_m) | settled)
        self._inside[track] = inside
        self._settling_s[track] = np.where(inside, np.nan, settling)

    def _keep(self, which: NDArray[np.bool_] | NDArray[np.int64]) -> None:
        self._points, self._seen_s, self._ids = self._points[which], self._seen_s[which], self._ids[which]
        self._inside, self._settling_s = self._inside[which], self._settling_s[which]

    def reset(self) -> None:
        """Forget everyone (the room's cameras are all down, or the end)."""
        self._keep(np.zeros(0, np.int64))
        self._last_s = None
