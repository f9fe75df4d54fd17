"""The one place that knows the order of the stages:
source -> sampling -> privacy masks -> detector -> tracker -> zones -> metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.config import CameraConfig, TrackerConfig
from edge.detect.base import Detector
from edge.detections import Detections
from edge.metrics import EdgeMetrics
from edge.sources.base import Frame, PendingFrame
from edge.sources.sampling import FrameSampler
from edge.track import PersonTracker
from edge.zones.accounting import CameraZones, ZoneReading
from edge.zones.geometry import bounding_box, to_pixels

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FrameResult:
    """What one analysed frame yielded: per-zone aggregates and how long the detector took."""

    time_s: float
    wall_time: float
    people: int  # detections in the analysed region, all zones or none
    zones: list[ZoneReading]
    detector_s: float


class PrivacyMask:
    """Blanks the configured polygons to black, so the detector never sees those areas."""

    def __init__(self, polygons: list[list[tuple[float, float]]]) -> None:
        self._polygons = polygons
        self._keep: dict[tuple[int, int], NDArray[np.uint8]] = {}

    def apply(self, image: NDArray[np.uint8]) -> NDArray[np.uint8]:
        if not self._polygons:
            return image
        height, width = image.shape[:2]
        keep = self._keep.get((width, height))
        if keep is None:
            keep = np.full((height, width), 255, np.uint8)
            for polygon in self._polygons:
                corners = np.round(to_pixels(polygon, width, height)).astype(np.int32)
                cv2.fillPoly(keep, [corners], 0)
            self._keep[(width, height)] = keep
        return np.asarray(cv2.bitwise_and(image, image, mask=keep), dtype=np.uint8)


class CameraPipeline:
    """Runs one camera's frames through the stages and hands the aggregates to the metrics."""

    def __init__(
        self,
        camera: CameraConfig,
        detector: Detector,
        tracker: TrackerConfig,
        metrics: EdgeMetrics | None = None,
        region: str = "frame",
    ) -> None:
        self.camera = camera
        self.detector = detector
        self.metrics = metrics
        self.sampler = FrameSampler(camera.fps)
        self.mask = PrivacyMask(camera.privacy_masks)
        self.tracker = PersonTracker(tracker, camera.fps)
        self.zones = CameraZones(camera, tracker.smoothing_frames, exit_grace_s=tracker.lost_track_s)
        self._zones_only = region == "zones"

    def analyse(self, frame: Frame) -> FrameResult:
        image = self.mask.apply(frame.image)
        height, width = image.shape[:2]
        region = (0, 0, width, height)
        if self._zones_only:
            region = bounding_box(self.zones.polygons(width, height), width, height)
        started = time.perf_counter()
        people: Detections = self.detector.detect_batch([image], [region])[0]
        detector_s = time.perf_counter() - started
        people = self.tracker.update(people, frame.time_s)
        readings = self.zones.update(people, width, height, frame.time_s)
        if self.metrics is not None:
            self.metrics.record_frame(self.camera.id, frame.wall_time, detector_s, readings)
        return FrameResult(frame.time_s, frame.wall_time, len(people), readings, detector_s)

    def run(
        self, frames: Iterable[PendingFrame], on_result: Callable[[FrameResult], None] | None = None
    ) -> list[ZoneReading]:
        """Analyse the due frames of a finite source in this thread (replays), then end open visits.
        The edge service instead reads in reader threads and analyses in its own thread."""
        for pending in frames:
            if not self.sampler.due(pending.time_s):
                continue
            frame = pending.decode()
            if frame is None:
                log.warning("camera %s: a frame could not be decoded", self.camera.id)
                if self.metrics is not None:
                    self.metrics.count_camera_event(self.camera.id, "dropped", 1)
                continue
            result = self.analyse(frame)
            if on_result is not None:
                on_result(result)
        return self.finish()

    def go_down(self) -> None:
        """The camera delivers no frames: its zones are unknown until it does again."""
        if self.metrics is not None:
            self.metrics.forget_camera(self.camera.id)

    def drop_visits(self) -> bool:
        """End every open visit at its last sighting and forget who was where (after an outage
        too long to bridge, so no visit is stretched over it). True if any visit was open."""
        readings = self._end_visits()
        return any(r.completed_dwells_s for r in readings)

    def finish(self) -> list[ZoneReading]:
        """End of stream: open visits end at their last sighting; the camera goes down."""
        readings = self._end_visits()
        self.go_down()
        return readings

    def _end_visits(self) -> list[ZoneReading]:
        readings = self.zones.finish()
        self.tracker.reset()
        if self.metrics is not None:
            self.metrics.record_visits(self.camera.id, readings)
        return readings
