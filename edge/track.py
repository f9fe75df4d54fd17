"""Short-lived association of people between analysed frames, for dwell time only.

Track ids live in this process's memory, are dropped when the person is lost, and never leave it.
The association itself is the maintained ByteTrack of the `trackers` package (no torch); it is
given each frame's timestamp, so skipped and dropped frames widen its prediction instead of
being mistaken for a frame step. At the 1-5 frames/s an edge box analyses, a walking person
moves further than their own width between frames, so boxes are matched by buffered IoU
(each box widened by `match_buffer` of its size) instead of plain overlap.
"""

from __future__ import annotations

import numpy as np
import supervision as sv
from trackers import ByteTrackTracker
from trackers.utils.iou import BIoU

from edge.config import TrackerConfig
from edge.detections import Detections

BUFFER_FPS = 30.0  # ByteTrack states its lost-track buffer in frames of a 30 fps stream
ROW = "row"


class PersonTracker:
    """fps: the rate frames are analysed at; the motion model steps in units of that period."""

    def __init__(self, config: TrackerConfig, fps: float) -> None:
        self._tracker = ByteTrackTracker(
            lost_track_buffer=round(config.lost_track_s * BUFFER_FPS),
            frame_rate=fps,
            track_activation_threshold=config.activation_confidence,
            minimum_consecutive_frames=config.confirm_frames,
            minimum_iou_threshold=config.min_iou,
            high_conf_det_threshold=config.high_confidence,
            iou=BIoU(config.match_buffer),
        )

    def update(self, detections: Detections, time_s: float) -> Detections:
        """The same detections with `track_id` set (-1 for people not yet confirmed)."""
        rows = np.arange(len(detections))
        tracked = self._tracker.update(
            sv.Detections(
                xyxy=detections.xyxy.astype(np.float32),
                confidence=detections.confidence.astype(np.float32),
                data={ROW: rows},
            ),
            timestamp=time_s,
        )
        track_id = np.full(len(detections), -1, np.int64)
        if len(tracked):
            track_id[np.asarray(tracked.data[ROW], dtype=np.int64)] = np.asarray(tracked.tracker_id)
        return detections.with_track_ids(track_id)

    def reset(self) -> None:
        """Forget everyone, e.g. after a gap in the stream."""
        self._tracker.reset()
