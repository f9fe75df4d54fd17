"""Short-lived ids for a room's people on the floor, step to step, for its visits (entries, dwell).

A room's people are floor points (edge/zones/rooms.py) with no identity; its accounting
(edge/zones/accounting.py) needs to know who stayed from one step to the next. Each step's points
are assigned to the tracks of the step before within a gate in metres that widens with the time
between them (a walking person's reach), by the same optimal assignment that merges cameras' views.
Ids live in this process only, a track unseen for `lost_s` is dropped (unless its last point lies
where no camera looks now, a camera of the room down, for as long as that camera's outage is
bridged), and at most MAX_TRACKS live.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edge.zones.accounting import MAX_PEOPLE_PER_ZONE
from edge.zones.rooms import GATE_M, assign

WALK_M_S = (
    1.4  # a brisk walk; a person further away than this reaches in the time between steps is someone else
)
MAX_GATE_M = 3.0  # after a long gap, nearest-is-same stops meaning anything
MAX_TRACKS = MAX_PEOPLE_PER_ZONE
Hidden = Callable[[NDArray[np.float64]], NDArray[np.bool_]]  # (N, 2) floor points -> (N,) unseen


class FloorTracker:
    """Assigns each step's floor points an id, the same one as the nearest point of the steps before
    that is within reach (see the module's text); new points get new ids."""

    def __init__(self, lost_s: float, gate_m: float = GATE_M) -> None:
        if not lost_s > 0:
            raise ValueError(f"lost_s must be > 0, got {lost_s}")
        if not gate_m > 0:
            raise ValueError(f"gate_m must be > 0, got {gate_m}")
        self.lost_s = lost_s
        self.gate_m = gate_m
        self._points = np.zeros((0, 2))  # each track's last floor point
        self._seen_s = np.zeros(0)  # when each track was last seen
        self._ids = np.zeros(0, np.int64)
        self._held = np.zeros(0, bool)  # tracks held at the last step (see update)
        self._next_id = 0
        self._last_s: float | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def update(
        self, points: ArrayLike, time_s: float, hidden: Hidden | None = None, hold_s: float = math.inf
    ) -> NDArray[np.int64]:
        """(K,) ids of the step's (K, 2) points at `time_s` (seconds, not before the last step's).
        hidden: which floor points no camera sees at this step; a track unseen now, for at most
        `hold_s`, whose last point lies there is held (the person may still be there), and found
        again within reach at the first step that sees its floor again (or then dropped)."""
        now = np.asarray(points, np.float64).reshape(-1, 2)
        if self._last_s is not None and time_s < self._last_s:
            raise ValueError(f"time_s went back: {time_s} after {self._last_s}")
        self._last_s = time_s
        self._keep((time_s - self._seen_s <= self.lost_s) | self._held)
        ids = np.full(len(now), -1, np.int64)
        if len(self._ids) and len(now):
            # Each track's reach grows with the time since it was seen.
            reach = np.minimum(MAX_GATE_M, self.gate_m + WALK_M_S * (time_s - self._seen_s))
            pairs = assign(self._points, now, float(reach.max()))
            pairs = pairs[
                np.linalg.norm(self._points[pairs[:, 0]] - now[pairs[:, 1]], axis=1) <= reach[pairs[:, 0]]
            ]
            ids[pairs[:, 1]] = self._ids[pairs[:, 0]]
            self._points[pairs[:, 0]] = now[pairs[:, 1]]
            self._seen_s[pairs[:, 0]] = time_s
        new = ids < 0
        ids[new] = self._next_id + np.arange(int(new.sum()))
        self._next_id += int(new.sum())
        self._points = np.concatenate([self._points, now[new]])
        self._seen_s = np.concatenate([self._seen_s, np.full(int(new.sum()), time_s)])
        self._ids = np.concatenate([self._ids, ids[new]])
        self._held = np.zeros(len(self._ids), bool)
        if hidden is not None and len(self._ids):
            unseen_s = time_s - self._seen_s
            self._held = (unseen_s > 0) & (unseen_s <= hold_s) & hidden(self._points)
        if len(self._ids) > MAX_TRACKS:  # the longest unseen go first
            order = np.argsort(-self._seen_s, kind="stable")[:MAX_TRACKS]
            order.sort()
            self._keep(np.isin(np.arange(len(self._ids)), order))
        return ids

    def held_ids(self) -> NDArray[np.int64]:
        """Ids of the tracks held at the last step: unseen where no camera looked."""
        return self._ids[self._held]

    def _keep(self, kept: NDArray[np.bool_]) -> None:
        self._points, self._seen_s = self._points[kept], self._seen_s[kept]
        self._ids, self._held = self._ids[kept], self._held[kept]

    def reset(self) -> None:
        """Forget everyone (the room's cameras are all down, or the end)."""
        self._points, self._seen_s, self._ids = np.zeros((0, 2)), np.zeros(0), np.zeros(0, np.int64)
        self._held = np.zeros(0, bool)
        self._last_s = None
