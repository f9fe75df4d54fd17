"""The one place that knows the order of the stages:
source -> sampling -> privacy masks -> motion gate (and window) -> detector -> fixtures -> tracker
-> zones (and rooms) -> metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.config import CameraConfig, DetectorSettings, TrackerConfig
from edge.detect.base import Detector
from edge.detect.postprocess import Region, cut_by_inner_edge, fits_part
from edge.detections import Detections
from edge.metrics import EdgeMetrics
from edge.motion import (
    Box,
    MotionGate,
    confirmed,
    detection_window,
    standing_outside,
    with_boxes,
    with_window,
)
from edge.sources.base import Frame
from edge.track import PersonTracker
from edge.zones.accounting import CameraZones, ZoneReading
from edge.zones.fixtures import Fixtures
from edge.zones.geometry import bounding_box, to_pixels
from edge.zones.room_steps import SiteRooms


@dataclass(frozen=True, slots=True)
class FrameResult:
    """What one analysed frame yielded: per-zone aggregates and how long the detector took."""

    time_s: float
    wall_time: float
    people: int  # detections in the analysed region, all zones or none
    zones: list[ZoneReading]
    detector_s: float  # 0 where the motion gate let the last detection stand
    analysis_s: float  # the whole analysis: masks, detector, tracker, zones, metrics
    image_size: tuple[int, int]  # (height, width) of the analysed frame
    detected: bool = True  # False: the picture had not changed, the last detection's people stand


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
    """Runs one camera's frames through the stages and hands the aggregates to the metrics.
    Frames reach it through a CameraRunner (edge/runner.py), which decides when and handles faults."""

    def __init__(
        self,
        camera: CameraConfig,
        detector: Detector,
        tracker: TrackerConfig,
        metrics: EdgeMetrics | None = None,
        settings: DetectorSettings | None = None,
        rooms: SiteRooms | None = None,
    ) -> None:
        """`settings`: the detector's region, motion gate and fixtures; None looks at the whole frame,
        detects every frame and keeps every box."""
        self.camera = camera
        self.detector = detector
        self.metrics = metrics
        self.mask = PrivacyMask(camera.privacy_masks)
        # Track ids serve the zones' visits only; a camera that counts just for rooms needs none
        # (a room's people get their ids on the floor, edge/zones/floor_tracker.py).
        self.tracker = PersonTracker(tracker, camera.fps) if camera.zones else None
        self.zones = CameraZones(camera)
        self._zones_only = settings is not None and settings.region == "zones" and bool(camera.zones)
        gate = None if settings is None else settings.motion_gate
        self.gate = None if gate is None else MotionGate(gate)
        self._last_found: Detections | None = None  # what the detector last found, for the gate
        self._unconfirmed = np.zeros((0, 4), np.float32)  # those of them only the last look found there
        self.fixtures = None
        if settings is not None and settings.fixtures is not None:
            self.fixtures = Fixtures.configured(settings.fixtures, settings.confidence)
        # The rooms this camera sees take its people as floor points after each frame.
        self.rooms = rooms if rooms is not None and rooms.sees_rooms(camera.id) else None

    def analyse(self, frame: Frame) -> FrameResult:
        analysis_started = time.perf_counter()
        image = self.mask.apply(frame.image)
        height, width = image.shape[:2]
        region = (0, 0, width, height)
        if self._zones_only:
            region = bounding_box(self.zones.polygons(width, height), width, height)
        due = self.gate is None or self.gate.due(image, frame.time_s, self._staying())
        detected = due or self._last_found is None
        started = time.perf_counter()
        if detected:
            before = None if self._last_found is None else self._last_found.xyxy
            self._last_found, part = self._look(image, region)
            now = self._last_found.xyxy
            self._unconfirmed = now[~confirmed(before, now)]
            if self.gate is not None:
                self.gate.detected(part)
        detector_s = time.perf_counter() - started if detected else 0.0
        assert self._last_found is not None
        found = self._last_found
        if self.fixtures is not None:
            found = self.fixtures.leave_out(found, (width, height), frame.time_s)
            if self.metrics is not None:
                self.metrics.set_things(self.camera.id, self.fixtures.places_left_out)
        # A frame the gate let pass still steps the tracker and the zones: time passed, dwell grows.
        people = found if self.tracker is None else self.tracker.update(found, frame.time_s)
        readings = self.zones.update(people, width, height, frame.time_s)
        if self.rooms is not None:
            self.rooms.seen(self.camera.id, frame.time_s, frame.wall_time, people, (width, height))
        if self.metrics is not None:
            latency_s = detector_s if detected else None
            self.metrics.record_frame(self.camera.id, frame.wall_time, latency_s, readings)
        analysis_s = time.perf_counter() - analysis_started
        return FrameResult(
            frame.time_s,
            frame.wall_time,
            len(people),
            readings,
            detector_s,
            analysis_s,
            (height, width),
            detected,
        )

    def _look(self, image: NDArray[np.uint8], region: Region) -> tuple[Detections, Box | None]:
        """The people now: found in a window where only a part changed (the others standing as last
        found), else in the whole region; and the window looked at, as fractions of the picture
        (None: all of it)."""
        height, width = image.shape[:2]
        window = self._window((width, height), region)
        if window is not None:
            assert self._last_found is not None
            # the people standing beyond the window make the frame a crowd or not with those in it
            standing = standing_outside(self._last_found, window)
            found = self.detector.detect_part(image, region, window, standing)
            if not cut_by_inner_edge(found, window, region).any():
                x1, y1, x2, y2 = window
                part = (x1 / width, y1 / height, x2 / width, y2 / height)
                return with_window(self._last_found, window, found), part
            # someone reaches out of the window (walked further than it allowed for): look at all
        return self.detector.detect_batch([image], [region])[0], None

    def _staying(self) -> NDArray[np.float32] | None:
        """The boxes of people staying where they are: the last look's, where it and the one before
        found everyone at one place. None until then: someone new or moved, or a box one look found
        by mistake, has a change anywhere looked at."""
        if self._last_found is None or len(self._unconfirmed):
            return None
        return self._last_found.xyxy

    def _window(self, size: tuple[int, int], region: Region) -> Region | None:
        """The part of the region to detect where only a part changed; None: the whole region."""
        if self.gate is None or not self.gate.config.windows or self.gate.changed is None:
            return None
        if self._last_found is None:
            return None
        # A box only the last look found there is looked at again, never left standing beside the
        # window: it may be a passing error (a faint box the detector finds in one frame of many).
        changed = with_boxes(self.gate.changed, self._unconfirmed, size)
        window = detection_window(changed, size, region, self._last_found.xyxy)
        x1, y1, x2, y2 = window
        if x2 <= x1 or y2 <= y1:  # what changed lies outside the region: nothing to look at there
            return None
        return window if fits_part(region, window) else None

    def forget(self) -> None:
        """The camera is not analysed now: its zones are unknown (not 0) until it is again, and the
        first frame after is detected whatever the gate would say."""
        self._last_found = None
        self._unconfirmed = np.zeros((0, 4), np.float32)
        if self.gate is not None:
            self.gate.reset()
        if self.fixtures is not None:
            self.fixtures.reset()
            if self.metrics is not None:
                self.metrics.set_things(self.camera.id, 0)  # the places are forgotten with it
        if self.metrics is not None:
            self.metrics.forget_camera(self.camera.id)
        if self.rooms is not None:
            self.rooms.unseen(self.camera.id)

    def end_visits(self) -> list[ZoneReading]:
        """End every open visit at its last sighting and forget who was where (end of a video, or
        an outage too long to bridge); the visits are counted."""
        readings = self.zones.finish()
        if self.tracker is not None:
            self.tracker.reset()
        if self.metrics is not None:
            self.metrics.record_visits(self.camera.id, readings)
        return readings
