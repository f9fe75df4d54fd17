"""Which frames to analyse: at a configured rate by the frames' own timestamps (cameras), or every
n-th frame by position (evaluations against labelled frames)."""

from __future__ import annotations

import math
from collections.abc import Callable

# Says whether a frame is due, given its position in the source (from 0) and its timestamp.
Selection = Callable[[int, float], bool]


class FrameSampler:
    """Says which frames are due so that analysis runs at `fps` on the source clock.

    Real streams drop and bunch frames, so the schedule follows timestamps, never frame counts.
    When the source jumps ahead by more than one period (a gap), the schedule restarts there
    instead of firing a burst of catch-up frames; after a shorter gap the next frame is still at
    least half a period away, never a near-duplicate.
    """

    def __init__(self, fps: float) -> None:
        if not fps > 0:  # also rejects nan
            raise ValueError(f"fps must be > 0, got {fps}")
        self.period_s = 1.0 / fps
        self._next_due: float | None = None

    def due(self, time_s: float) -> bool:
        if self._next_due is None or time_s >= self._next_due + self.period_s:
            self._next_due = time_s + self.period_s
            return True
        if time_s >= self._next_due - 1e-6:
            self._next_due = max(self._next_due + self.period_s, time_s + self.period_s / 2)
            return True
        return False


def at_rate(fps: float) -> Selection:
    """Frames at `fps` by their timestamps: what a camera is analysed at."""
    sampler = FrameSampler(fps)
    return lambda _index, time_s: sampler.due(time_s)


def every_nth(n: int, first: int = 0) -> Selection:
    """Frames first, first + n, first + 2n, ...: labelled data is numbered by frame, so evaluations
    pick by position."""
    if n < 1:
        raise ValueError(f"every must be 1 or more, got {n}")
    if not 0 <= first < n:
        raise ValueError(f"first must be at least 0 and below every ({n}), got {first}")
    return lambda index, _time_s: index % n == first


def on_grid(fps: float) -> Selection:
    """Frames at `fps` on a grid of the source clock: the first frame at or after each k / fps.
    Cameras read on one clock (live streams: the monotonic clock; files recorded together: their
    timestamps) then take frames at nearly the same instants, within one frame of their streams,
    whatever the phase they started in: what the cameras of one room need for their frames to pair
    (edge/zones/room_steps.py). A clock that goes back (a file read anew) starts the grid again."""
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    period_s = 1.0 / fps
    last: list[int] = []  # the grid slot of the last frame taken

    def due(_index: int, time_s: float) -> bool:
        slot = math.floor(time_s / period_s + 1e-9)
        if last and last[0] - 1 <= slot <= last[0]:
            return False
        last[:] = [slot]
        return True

    return due
