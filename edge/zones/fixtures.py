"""Things a camera keeps taking for faint people: a bollard, a tripod, a corner, a door frame.

One still cannot tell a faint person from a thing; time can: a thing stays where it is and the
detector never finds it clearly, while a person moves now and then and is seen clearly at least
once in a while (a turn of the head, a step). So per camera, each faint box is matched to the faint
boxes found at the same place before (the same box, to within a person's sway: FIXTURE_IOU); a place
where faint boxes have been found for `after_s`, and never a confident one, holds a fixture, and its
faint boxes are left out before the tracker, so a thing makes no visit, no count and no room point.
A confident box in the place's box (CLEAR_IOU) clears the place. The price: a person only ever seen
faintly (mostly hidden) who stays that long at one place without once being seen clearly is left
out too. In a crowd that is what a faint box that stays is (someone between others), so in a frame
with `crowd` or more boxes at the detector's threshold nothing is learned or left out.

Places are boxes in picture fractions, kept only in this process, forgotten FIXTURE_FORGET_S after
their last faint box, at most MAX_PLACES per camera.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from edge.config import FixturesConfig
from edge.detections import Detections, box_iou
from edge.zones.rooms import FAINT_BELOW

# A place not found faint for this long is forgotten: the thing was moved, or it was a person.
FIXTURE_FORGET_S = 60.0
# Boxes overlapping this much (intersection over union) are one place. A thing's box varies with the
# light and the people passing by; a person walking leaves their box's overlap within a second.
FIXTURE_IOU = 0.5
# A confident box clears a place only where it is nearly the place's box: the person who was there
# all along, seen clearly at last. Someone passing in front of a thing overlaps its box less: theirs
# reaches lower in the picture, nearer the camera.
CLEAR_IOU = 0.7
MAX_PLACES = 64  # per camera; the least recently seen go first


class Fixtures:
    """One camera's places of faint boxes over time (see the module's text)."""

    def __init__(
        self,
        after_s: float,
        forget_s: float = FIXTURE_FORGET_S,
        faint_below: float = FAINT_BELOW,
        crowd: int | None = None,
        sure: float = 0.0,
    ) -> None:
        if not after_s > 0:
            raise ValueError(f"after_s must be > 0, got {after_s}")
        if not forget_s > 0:
            raise ValueError(f"forget_s must be > 0, got {forget_s}")
        self.after_s, self.forget_s, self.faint_below = after_s, forget_s, faint_below
        self.crowd, self.sure = crowd, sure  # leave_out's crowd: `crowd` boxes at `sure` or more
        self._boxes = np.zeros((0, 4))  # each place's box: the mean of its faint boxes
        self._hits = np.zeros(0)  # faint boxes found there
        self._first_s = np.zeros(0)  # when the place was first found faint
        self._last_s = np.zeros(0)
        self._time_s: float | None = None

    def __len__(self) -> int:
        return len(self._boxes)

    @property
    def places_left_out(self) -> int:
        """Places whose faint boxes are left out now: found faint for after_s, not yet forgotten."""
        return int((self._last_s - self._first_s >= self.after_s).sum())

    @classmethod
    def configured(cls, config: FixturesConfig, sure: float) -> Fixtures:
        """A camera's fixtures as configured; `sure`: the detector's threshold, which counts a crowd."""
        return cls(config.after_s, crowd=config.crowd, sure=sure)

    def things(self, people: Detections, size: tuple[int, int], time_s: float) -> NDArray[np.bool_]:
        """(N,) True for a frame's people (in a picture of (width, height), at `time_s`) that are
        faint boxes at a fixture's place; none in a crowd's frame, which is not learned from."""
        if self.crowd is not None and int((people.confidence >= self.sure).sum()) >= self.crowd:
            return np.zeros(len(people), bool)
        width, height = size
        boxes = people.xyxy / np.array([width, height, width, height], np.float32)
        return self.update(boxes, people.confidence, time_s)

    def leave_out(self, people: Detections, size: tuple[int, int], time_s: float) -> Detections:
        return people.select(~self.things(people, size, time_s))

    def update(self, boxes: ArrayLike, confidence: ArrayLike, time_s: float) -> NDArray[np.bool_]:
        """A frame's people, boxes (N, 4) in picture fractions and confidences (N,), at `time_s`;
        returns (N,) True for the faint boxes at a fixture's place, to be left out."""
        xyxy = np.asarray(boxes, np.float64).reshape(-1, 4)
        sure = np.asarray(confidence, np.float64).reshape(-1)
        if sure.shape != (len(xyxy),):
            raise ValueError(f"confidence must have shape ({len(xyxy)},), got {sure.shape}")
        if self._time_s is not None and time_s < self._time_s:
            self.reset()  # the clock went back (a file looped anew): nothing before is comparable
        self._time_s = time_s
        kept = time_s - self._last_s <= self.forget_s
        self._keep(kept)
        fixture = np.zeros(len(xyxy), bool)
        if not len(xyxy):
            return fixture
        faint = sure < self.faint_below
        # A confident box clears every place it covers.
        cleared = np.asarray((box_iou(xyxy[~faint], self._boxes) >= CLEAR_IOU).any(axis=0), bool)
        self._keep(~cleared)
        overlap = box_iou(xyxy, self._boxes)
        for index in np.flatnonzero(faint):
            if len(self._boxes) and overlap[index].max() >= FIXTURE_IOU:
                place = int(overlap[index].argmax())
                fixture[index] = time_s - self._first_s[place] >= self.after_s
                weight = self._hits[place]
                self._boxes[place] = (self._boxes[place] * weight + xyxy[index]) / (weight + 1)
                self._hits[place] += 1
                self._last_s[place] = time_s
            else:
                self._boxes = np.vstack([self._boxes, xyxy[index]])
                self._hits = np.append(self._hits, 1.0)
                self._first_s = np.append(self._first_s, time_s)
                self._last_s = np.append(self._last_s, time_s)
                overlap = np.hstack([overlap, box_iou(xyxy, xyxy[index : index + 1])])
        if len(self._boxes) > MAX_PLACES:
            newest = np.zeros(len(self._boxes), bool)
            newest[np.argsort(-self._last_s, kind="stable")[:MAX_PLACES]] = True
            self._keep(newest)
        return fixture

    def reset(self) -> None:
        """Forget every place (the camera was down, or its clock went back)."""
        self._keep(np.zeros(len(self._boxes), bool))
        self._time_s = None

    def _keep(self, mask: NDArray[np.bool_]) -> None:
        self._boxes, self._hits = self._boxes[mask], self._hits[mask]
        self._first_s, self._last_s = self._first_s[mask], self._last_s[mask]
