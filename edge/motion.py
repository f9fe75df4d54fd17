"""Motion gating: the detector runs on a camera's frame only when its picture changed since the
last detection, or when the last look at the whole picture is `full_every_s` old.

A waiting room is mostly still: people sit. Where nothing moved, the people are where the detector
last saw them, so its last finding stands and the detector's time goes to cameras whose picture
changed. The comparison is against the picture of the last detection, not the previous frame, so a
slow change (someone edging along a bench) adds up until it counts. The periodic detection bounds
how long any mistake can stand: a person the detector missed, a count frozen by a threshold set
too high.

Where the change is local (someone sits down, one person walks in), the detector looks only at a
window around it, grown to the whole people it touches, at the scale the whole picture gets (in a
strip of half the picture's width: about half a whole look, edge/detect/postprocess.py); the people
elsewhere stand as last found.

Where the change lies within people who stay where they are (found at one place by two looks in
a row: a seated person's hands, someone shifting their weight), nobody came or went, and the
detector is not run at all, as Frigate leaves its stationary objects be. Someone who leaves moves
out of their box, and that change counts; the periodic look bounds the rest (a person stepping out
of the picture within their own box, one hiding behind another).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from edge.config import MotionGateConfig
from edge.detect.postprocess import Region, overlapping
from edge.detections import Detections, box_iou

THUMBNAIL_WIDTH = 160  # a person of a frame's 1/30 width still covers several of its pixels
BLUR = (5, 5)  # sensor noise and compression blocks smoothed away before comparing
# A window is padded by this share of its longer side, and by at least this share of the picture's
# height: the network needs some of a person's surroundings to see them whole.
WINDOW_PAD, WINDOW_MIN_PAD = 0.1, 0.02
# Two looks' boxes of one person who stays: the detector's own jitter leaves them above this.
IN_PLACE_IOU = 0.7

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 as fractions of the picture's width and height


def thumbnail(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A small, blurred grey copy of a BGR (or grey) image: what the gate compares."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    # Halving with a Gaussian pyramid first: an area resize straight from the camera's size takes
    # about 1 ms a frame where the ratio is not a whole number, the pyramid a quarter of that.
    while grey.shape[1] >= 2 * THUMBNAIL_WIDTH:
        grey = cv2.pyrDown(grey)
    height, width = grey.shape
    size = (THUMBNAIL_WIDTH, max(1, round(height * THUMBNAIL_WIDTH / width)))
    small = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.GaussianBlur(small, BLUR, 0), np.uint8)


def changed_pixels(
    reference: NDArray[np.uint8], now: NDArray[np.uint8], pixel_change: int
) -> NDArray[np.bool_] | None:
    """Which thumbnail pixels' grey value moved by more than `pixel_change`; None where the camera's
    picture changed size (everything is new)."""
    if reference.shape != now.shape:
        return None
    return np.asarray(cv2.absdiff(reference, now) > pixel_change)


def confirmed(before: NDArray[np.float32] | None, now: NDArray[np.float32]) -> NDArray[np.bool_]:
    """Which boxes of `now` (xyxy) the look before found at their place too (IoU IN_PLACE_IOU with
    a box of `before`). A box one look found may be a passing error, which the next look takes
    back; until a second look confirms it, it is looked at again, never left standing."""
    if before is None or not len(before) or not len(now):
        return np.zeros(len(now), bool)
    stayed: NDArray[np.bool_] = (
        box_iou(now.astype(np.float64), before.astype(np.float64)).max(axis=1) >= IN_PLACE_IOU
    )
    return stayed


def around_people(
    shape: tuple[int, ...], size: tuple[int, int], people: NDArray[np.float32]
) -> NDArray[np.bool_]:
    """Which pixels of a thumbnail of `shape` lie inside a box of `people` (xyxy in pixels of a
    picture of `size`, width and height) with a tenth of its height around it."""
    height, width = shape
    sx, sy = width / size[0], height / size[1]
    inside = np.zeros(shape, np.bool_)
    for x1, y1, x2, y2 in people:
        margin = WINDOW_PAD * (y2 - y1)
        top, bottom = max(0, int((y1 - margin) * sy)), int(np.ceil((y2 + margin) * sy))
        left, right = max(0, int((x1 - margin) * sx)), int(np.ceil((x2 + margin) * sx))
        inside[top:bottom, left:right] = True
    return inside


def changed_share(changed: NDArray[np.bool_] | None) -> float:
    """Share of the thumbnail's pixels that changed (changed_pixels); all of them where it is new."""
    return 1.0 if changed is None else float(changed.mean())


def changed_box(changed: NDArray[np.bool_] | None) -> Box | None:
    """The part of the picture that holds every changed thumbnail pixel (changed_pixels), as
    fractions; None where none did or the picture is new (all of it)."""
    if changed is None:
        return None
    rows, cols = np.nonzero(changed)
    if not len(rows):
        return None
    height, width = changed.shape
    return (cols.min() / width, rows.min() / height, (cols.max() + 1) / width, (rows.max() + 1) / height)


def detection_window(
    changed: Box, size: tuple[int, int], region: Region, people: NDArray[np.float32]
) -> Region:
    """The part of `region` to detect, in pixels of a picture of `size` (width, height): `changed`
    padded, then grown until every box of `people` (the last detection's xyxy) that it overlaps lies
    wholly inside with a margin, so that each person is either looked at whole or left standing
    whole."""
    width, height = size
    x1, y1, x2, y2 = changed[0] * width, changed[1] * height, changed[2] * width, changed[3] * height
    pad = max(WINDOW_PAD * max(x2 - x1, y2 - y1), WINDOW_MIN_PAD * height)
    x1, y1, x2, y2 = x1 - pad, y1 - pad, x2 + pad, y2 + pad
    # each person with a margin of a tenth of their height: they may have moved since
    margin = WINDOW_PAD * (people[:, 3:4] - people[:, 1:2])
    people = people + np.hstack([-margin, -margin, margin, margin])
    while True:
        touched = people[overlapping(people, x1, y1, x2, y2)]
        grown = (
            float(np.min(touched[:, 0], initial=x1)),
            float(np.min(touched[:, 1], initial=y1)),
            float(np.max(touched[:, 2], initial=x2)),
            float(np.max(touched[:, 3], initial=y2)),
        )
        if grown == (x1, y1, x2, y2):
            break
        x1, y1, x2, y2 = grown
    rx1, ry1, rx2, ry2 = region
    return (max(rx1, int(x1)), max(ry1, int(y1)), min(rx2, int(np.ceil(x2))), min(ry2, int(np.ceil(y2))))


def with_boxes(changed: Box, boxes: NDArray[np.float32], size: tuple[int, int]) -> Box:
    """The part `changed` grown to hold `boxes` too (xyxy in pixels of a picture of `size`, width
    and height), as fractions."""
    if not len(boxes):
        return changed
    width, height = size
    return (
        min(changed[0], float(boxes[:, 0].min()) / width),
        min(changed[1], float(boxes[:, 1].min()) / height),
        max(changed[2], float(boxes[:, 2].max()) / width),
        max(changed[3], float(boxes[:, 3].max()) / height),
    )


def standing_outside(last: Detections, window: Region) -> Detections:
    """The people of the last detection that `window` does not touch: they stand as last found."""
    return last.select(~overlapping(last.xyxy, *window))


def with_window(last: Detections, window: Region, found: Detections) -> Detections:
    """The people `found` in `window` in place of those the last detection had there: a person of
    the last detection overlapping the window was inside it whole (detection_window), so is either
    found again or gone."""
    return Detections.concatenate([standing_outside(last, window), found])


class MotionGate:
    """One camera's gate. `due` says whether a frame needs the detector; `detected` tells the gate
    that it ran on that frame, on the whole picture or a part (only then does the frame, or that
    part of it, become the reference); `reset` forgets the reference, so that the next frame is
    detected (after an outage, at the end of a file).

    A part looked at renews the reference there only: a slow change elsewhere keeps adding up
    against the picture of the last look that saw it, and the periodic detection counts from the
    last whole look, so people left standing beside windows are looked at again within
    `full_every_s` however busy the picture."""

    def __init__(self, config: MotionGateConfig) -> None:
        self.config = config
        # After `due` said yes: the part that changed since the reference, or None where the whole
        # picture is to be detected (the first frame, a periodic detection, another size).
        self.changed: Box | None = None
        self._reference: NDArray[np.uint8] | None = None
        self._reference_s = 0.0
        self._candidate: tuple[NDArray[np.uint8], float] | None = None

    def due(self, image: NDArray[np.uint8], time_s: float, people: NDArray[np.float32] | None = None) -> bool:
        """Whether `image` needs the detector; `people`: boxes (xyxy) of people staying where they
        are (every box of the last look confirmed by the one before), within which a change is
        someone moving in place where `skip_in_place` is set."""
        small = thumbnail(image)
        self._candidate = (small, time_s)
        self.changed = None
        if self._reference is None:
            return True
        age_s = time_s - self._reference_s
        if age_s >= self.config.full_every_s or age_s < 0:  # < 0: the clock went back (a file looped)
            return True
        changed = changed_pixels(self._reference, small, self.config.pixel_change)
        if changed is not None and self.config.skip_in_place and people is not None and len(people):
            changed &= ~around_people(changed.shape, (image.shape[1], image.shape[0]), people)
        if changed_share(changed) <= self.config.changed_share:
            return False
        self.changed = changed_box(changed)
        return True

    def detected(self, part: Box | None = None) -> None:
        """The detector ran on the frame `due` saw last: on `part` of it (fractions), or on all."""
        if self._candidate is None:
            return
        small, time_s = self._candidate
        self._candidate = None
        if part is None or self._reference is None or self._reference.shape != small.shape:
            self._reference, self._reference_s = small, time_s
            return
        # the thumbnail pixels wholly inside the part: those at its border saw some of what was not
        height, width = small.shape
        x1, y1 = int(np.ceil(part[0] * width)), int(np.ceil(part[1] * height))
        x2, y2 = int(part[2] * width), int(part[3] * height)
        self._reference[y1:y2, x1:x2] = small[y1:y2, x1:x2]

    def reset(self) -> None:
        self._reference, self._candidate, self.changed = None, None, None
