"""One frame through the camera's own pipeline (the runner that the service, replay, eval and check
call), and the picture of it that the page may show: privacy masks black, every detected person's
box pixelated beyond recognition. Both live in memory only."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.config import CameraConfig, DetectorSettings, TrackerConfig
from edge.detect import Detector
from edge.detections import Anchor, Detections
from edge.pipeline import CameraPipeline
from edge.runner import CameraRunner
from edge.sources.base import Frame
from edge.zones.accounting import CameraZones, ZoneReading

# A box grows by this share of its size on every side before it is pixelated: hair, a raised hand
# and a box drawn a little tight stay hidden too.
PAD_SHARE = 0.1
# Cells across a person's (padded) box: a head is about a third of a person's width, so a face
# falls into one or two cells of one colour each.
CELLS_ACROSS = 3
MIN_CELL_PX = 6
JPEG_QUALITY = 85


class _WitnessedZones(CameraZones):
    """The camera's zones, remembering whom they counted last: the page draws the very anchor
    points behind its counts, never a second guess at them."""

    def __init__(self, camera: CameraConfig) -> None:
        super().__init__(camera)
        self.people = Detections.empty()

    def update(self, people: Detections, width: int, height: int, time_s: float) -> list[ZoneReading]:
        self.people = people
        return super().update(people, width, height, time_s)


class SetupPipeline(CameraPipeline):
    """The camera's pipeline, its zones witnessed (see _WitnessedZones); counting is unchanged."""

    def __init__(self, camera: CameraConfig, detector: Detector, tracker: TrackerConfig, region: str) -> None:
        # One frame, as `wartezone check` analyses it: nothing before it to gate on or learn from.
        settings = DetectorSettings(region=region, motion_gate=None, fixtures=None)
        super().__init__(camera, detector, tracker, settings=settings)
        self.witness = _WitnessedZones(camera)
        self.zones = self.witness


@dataclass(frozen=True, slots=True)
class PersonMark:
    """Where a counted person is, in fractions of the picture: the (pixelated) box and the anchor
    point of each kind the camera's zones use."""

    box: tuple[float, float, float, float]
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One analysed frame as the page may see it. `revision`: the draft layout it was counted with."""

    version: int
    revision: int
    time_s: float
    wall_time: float
    width: int
    height: int
    jpeg: bytes
    people: tuple[PersonMark, ...]
    counts: dict[str, int]  # zone id -> people whose anchor point lies in it, in this frame

    def describe(self) -> dict[str, Any]:
        """Everything but the picture, for the page's state."""
        return {
            "version": self.version,
            "revision": self.revision,
            "time_s": self.time_s,
            "wall_time": self.wall_time,
            "width": self.width,
            "height": self.height,
            "people": [{"box": list(p.box), "points": [list(q) for q in p.points]} for p in self.people],
            "counts": self.counts,
        }


def analyse(
    frame: Frame,
    camera: CameraConfig,
    detector: Detector,
    tracker: TrackerConfig,
    region: str,
    version: int,
    revision: int,
) -> Snapshot | None:
    """The frame counted as a camera with this layout counts it (a fresh pipeline, as `wartezone
    check` analyses one frame), and its picture. None: the analysis failed (the runner logged why)."""
    pipeline = SetupPipeline(camera, detector, tracker, region)
    result = CameraRunner(camera, pipeline).analyse(frame)
    if result is None:
        return None
    people = pipeline.witness.people
    shown = pipeline.mask.apply(frame.image)
    boxes = people.xyxy
    if region == "zones" and camera.zones:  # the pipeline looked inside them; the picture shows the rest
        boxes = np.concatenate([boxes, detector.detect(shown).xyxy])
    picture = pixelate(shown, boxes)
    # The only picture the project encodes: pixelated, masks black, kept in this process's memory
    # and served only with the run's token (tests/edge/setup/test_picture.py, test_server.py,
    # tests/edge/test_privacy.py: nothing written but the YAML and its backup).
    ok, encoded = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError(f"camera {camera.id}: the picture could not be encoded as JPEG")
    height, width = frame.image.shape[:2]
    return Snapshot(
        version=version,
        revision=revision,
        time_s=frame.time_s,
        wall_time=frame.wall_time,
        width=width,
        height=height,
        jpeg=encoded.tobytes(),
        people=_marks(people, camera, width, height),
        counts={reading.zone: reading.raw_count for reading in result.zones},
    )


def _marks(people: Detections, camera: CameraConfig, width: int, height: int) -> tuple[PersonMark, ...]:
    size = np.array([width, height], np.float32)
    kinds = list(dict.fromkeys(Anchor(zone.anchor) for zone in camera.zones))
    points = [np.clip(people.anchors(kind) / size, 0, 1) for kind in kinds]
    boxes = np.clip(people.xyxy / np.tile(size, 2), 0, 1)
    return tuple(
        PersonMark(
            box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])),
            points=tuple((float(p[i][0]), float(p[i][1])) for p in points),
        )
        for i, b in enumerate(boxes)
    )


def pixelate(image: NDArray[np.uint8], boxes: NDArray[np.float32]) -> NDArray[np.uint8]:
    """A copy of `image` with each (padded) box replaced by a few large cells of its mean colour."""
    out = image.copy()
    height, width = out.shape[:2]
    for x1, y1, x2, y2 in np.asarray(boxes, np.float64).reshape(-1, 4):
        pad_x, pad_y = PAD_SHARE * (x2 - x1), PAD_SHARE * (y2 - y1)
        left, top = max(0, math.floor(x1 - pad_x)), max(0, math.floor(y1 - pad_y))
        right, bottom = min(width, math.ceil(x2 + pad_x)), min(height, math.ceil(y2 + pad_y))
        if right <= left or bottom <= top:
            continue
        cell = max(MIN_CELL_PX, math.ceil((right - left) / CELLS_ACROSS))
        region = out[top:bottom, left:right]
        cells = (max(1, math.ceil((right - left) / cell)), max(1, math.ceil((bottom - top) / cell)))
        small = cv2.resize(region, cells, interpolation=cv2.INTER_AREA)
        out[top:bottom, left:right] = cv2.resize(
            small, (right - left, bottom - top), interpolation=cv2.INTER_NEAREST
        )
    return out
