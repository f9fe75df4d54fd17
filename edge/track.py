"""Short-lived association of people between analysed frames, for dwell time only.

Track ids live in this process's memory, are dropped when the person is lost, and never leave it.

ByteTrack (Zhang et al., 2022): every box is kept, the sure ones are matched to the tracks first and
the faint ones then to the tracks left over, so a person half hidden for a moment keeps their track;
only a sure box starts one. Each track's box is predicted by a constant-velocity Kalman filter
stepped by the frames' timestamps, so skipped and dropped frames widen the prediction instead of
being mistaken for a frame step. At the 1-5 frames/s an edge box analyses, a walking person moves
further than their own width between frames, so boxes are matched by buffered IoU (each box widened
by `match_buffer` of its size, Yang et al., 2023) instead of plain overlap. The tracker is the
edge's own, not a tracking package's: the one used before brought SciPy, supervision and PIL into
the process, about 60 MiB of a box's memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from edge.assignment import min_cost_pairs
from edge.config import TrackerConfig
from edge.detections import Detections, box_iou

# The Kalman filter's noise, in pixels squared (a step: one analysed frame): a box is measured
# to within a few pixels, and a person's corners drift little from a steady walk within one step.
MEASUREMENT_NOISE = 0.1
MOTION_NOISE = 0.01

Boxes = NDArray[np.float64]


def buffered_iou(a: Boxes, b: Boxes, buffer: float) -> NDArray[np.float64]:
    """IoU of every box of `a` with every box of `b`, each widened on all sides by `buffer` times its
    width and height."""
    return box_iou(widened(a, buffer), widened(b, buffer))


def widened(boxes: Boxes, buffer: float) -> Boxes:
    size = np.hstack([boxes[:, 2:4] - boxes[:, 0:2]] * 2)
    return np.asarray(boxes + buffer * size * np.array([-1.0, -1.0, 1.0, 1.0]), np.float64)


@dataclass
class Track:
    """One person followed: the Kalman filter of their box's corners and their velocities."""

    state: NDArray[np.float64]  # x1, y1, x2, y2 and their change a step
    covariance: NDArray[np.float64] = field(default_factory=lambda: np.eye(8))
    track_id: int = -1  # -1 until confirmed
    streak: int = 1  # frames in a row it was matched, its first included
    seen_s: float = 0.0  # when it was last matched
    matched: bool = True  # in the frame now

    @property
    def box(self) -> NDArray[np.float64]:
        return self.state[:4]

    def predict(self, steps: float) -> None:
        if steps <= 0:
            return
        if not self.matched:  # missed the last frame: the streak is broken
            self.streak = 0
        motion = np.eye(8)
        motion[:4, 4:] = steps * np.eye(4)
        self.state = motion @ self.state
        self.covariance = motion @ self.covariance @ motion.T + MOTION_NOISE * steps * np.eye(8)
        self.matched = False

    def update(self, box: NDArray[np.float64], time_s: float) -> None:
        innovation_cov = self.covariance[:4, :4] + MEASUREMENT_NOISE * np.eye(4)
        gain = self.covariance[:, :4] @ np.linalg.inv(innovation_cov)
        self.state = self.state + gain @ (box - self.box)
        self.covariance = (np.eye(8) - gain @ np.eye(4, 8)) @ self.covariance
        self.streak += 1
        self.seen_s = time_s
        self.matched = True


class PersonTracker:
    """fps: the rate frames are analysed at; the motion model steps in units of that period."""

    def __init__(self, config: TrackerConfig, fps: float) -> None:
        self.config = config
        self.fps = fps
        self._tracks: list[Track] = []
        self._time_s: float | None = None
        self._next_id = 1

    def update(self, detections: Detections, time_s: float) -> Detections:
        """The same detections with `track_id` set (-1 for people not yet confirmed)."""
        config = self.config
        steps = 1.0 if self._time_s is None else (time_s - self._time_s) * self.fps
        self._time_s = time_s if self._time_s is None else max(self._time_s, time_s)
        for track in self._tracks:
            track.predict(steps)
        # a track unseen for longer than lost_track_s is not matched again: a new visit
        self._tracks = [t for t in self._tracks if time_s - t.seen_s <= config.lost_track_s]

        boxes = detections.xyxy.astype(np.float64)
        sure = detections.confidence >= config.high_confidence
        track_id = np.full(len(detections), -1, np.int64)
        matched = np.zeros(len(detections), bool)
        left = list(range(len(self._tracks)))
        for stage in (np.flatnonzero(sure), np.flatnonzero(~sure)):
            left = self._match(left, stage, boxes, time_s, track_id, matched)
        for row in np.flatnonzero(sure & ~matched):
            if detections.confidence[row] >= config.activation_confidence:
                self._tracks.append(Track(np.concatenate([boxes[row], np.zeros(4)]), seen_s=time_s))
        # an unconfirmed track that missed this frame is dropped: ByteTrack confirms on a streak
        self._tracks = [t for t in self._tracks if t.track_id >= 0 or t.matched]
        return detections.with_track_ids(track_id)

    def _match(
        self,
        tracks: list[int],
        rows: NDArray[np.int64],
        boxes: Boxes,
        time_s: float,
        track_id: NDArray[np.int64],
        matched: NDArray[np.bool_],
    ) -> list[int]:
        """Pairs the tracks (indices) with the detections `rows` by buffered IoU, setting the
        detections' `track_id` and `matched`; returns the tracks left."""
        if not tracks or not len(rows):
            return tracks
        predicted = np.array([self._tracks[t].box for t in tracks])
        similarity = buffered_iou(predicted, boxes[rows], self.config.match_buffer)
        paired: set[int] = set()
        for i, j in zip(*min_cost_pairs(-similarity), strict=True):
            if similarity[i, j] < self.config.min_iou:
                continue
            track = self._tracks[tracks[i]]
            track.update(boxes[rows[j]], time_s)
            if track.track_id < 0 and track.streak >= self.config.confirm_frames:
                track.track_id, self._next_id = self._next_id, self._next_id + 1
            track_id[rows[j]], matched[rows[j]] = track.track_id, True
            paired.add(i)
        return [t for i, t in enumerate(tracks) if i not in paired]

    def reset(self) -> None:
        """Forget everyone, e.g. after a gap in the stream."""
        self._tracks, self._time_s = [], None
